"""Matplotlib (Agg) helpers shared by the scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .common import RESULTS_DIR, progress

SERVICE_COLOR = "#1f77b4"
CEILING_COLOR = "#bbbbbb"


def figure(columns: int, title: str, rows: int = 1) -> tuple[Any, Any]:
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.0 * rows), squeeze=False)
    fig.suptitle(title)
    return fig, axes


def paired_bars(ax: Any, labels: list[str], service: list[float], ceiling: list[float], ylabel: str) -> None:
    """Service next to its ceiling, with the ratio written above each pair."""
    xs = range(len(labels))
    width = 0.38
    ax.bar([x - width / 2 for x in xs], service, width, label="watchcache", color=SERVICE_COLOR)
    ax.bar([x + width / 2 for x in xs], ceiling, width, label="ceiling", color=CEILING_COLOR)
    for x, s, c in zip(xs, service, ceiling, strict=True):
        if c:
            ax.annotate(f"{s / c:.2f}x", (x, max(s, c)), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def save(fig: Any, name: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    progress(f"wrote {path.relative_to(RESULTS_DIR.parent.parent)}")
    return path

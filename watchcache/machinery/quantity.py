"""Kubernetes resource quantities (``"500m"``, ``"1Gi"``, ``"1e3"``) as exact decimals.

Grammar of apimachinery ``resource.Quantity``: a signed decimal number followed by one optional
suffix — a binary SI suffix (``Ki``…``Ei``), a decimal SI suffix (``n u m k M G T P E``) or a
decimal exponent (``e3``, ``E-2``). ``E`` alone means exa; ``E`` followed by digits is an exponent.
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_UP, Context, Decimal, InvalidOperation

# [0-9] rather than \d: Python's \d also matches non-ASCII digits, Go's does not.
_QUANTITY_RE = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE])?"
)

_BINARY_POWER = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_EXPONENT = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

# Exact arithmetic for anything a client can reasonably send: 1024**6 times a 100-digit number
# still fits; the default context (28 digits) would silently round.
_EXACT = Context(prec=200, Emax=10**6, Emin=-(10**6))

# Same wording as apimachinery's ErrFormatWrong, so a decode error reads like the real one.
FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

_MILLI = 3  # kube defaulting rounds every ResourceList value up to milli precision


def parse_quantity(text: object) -> Decimal:
    """The exact value of a quantity string; ``ValueError`` for anything else."""
    if not isinstance(text, str):
        raise ValueError(FORMAT_ERROR)
    return _parse(text)


@functools.lru_cache(maxsize=4096)  # pods repeat a handful of quantities ("100m", "128Mi")
def _parse(text: str) -> Decimal:
    match = _QUANTITY_RE.fullmatch(text)
    if match is None:
        raise ValueError(FORMAT_ERROR)
    number, suffix = match.groups()
    try:
        value = Decimal(number)
        if not suffix:
            return value
        if suffix in _BINARY_POWER:
            return _EXACT.multiply(value, Decimal(1024) ** _BINARY_POWER[suffix])
        if suffix in _DECIMAL_EXPONENT:
            return value.scaleb(_DECIMAL_EXPONENT[suffix], context=_EXACT)
        return value.scaleb(int(suffix[1:]), context=_EXACT)
    except (InvalidOperation, ArithmeticError) as exc:
        raise ValueError(FORMAT_ERROR) from exc


@functools.lru_cache(maxsize=1024)  # the same few quantities come in every pod
def round_up_milli(text: str) -> str:
    """``text`` unchanged if it is already milli-precise, else rounded up (``"0.0001"``→``"1m"``).

    Kubernetes' ``SetDefaults_ResourceList`` rounds every quantity up to milli precision; values
    that need no rounding keep the client's spelling. Unparsable text is returned as is (decoding
    rejects it elsewhere).
    """
    try:
        milli = parse_quantity(text).scaleb(_MILLI, context=_EXACT)
    except ValueError:
        return text
    if milli == milli.to_integral_value():
        return text
    rounded = int(milli.to_integral_value(rounding=ROUND_UP))
    whole, rest = divmod(rounded, 1000)
    return str(whole) if rest == 0 else f"{rounded}m"

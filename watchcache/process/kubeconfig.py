"""A kubeconfig that points kubectl and the Python client at a watchcache server."""

from __future__ import annotations

import base64
from typing import Any, Final

import yaml

from watchcache.process.settings import Settings
from watchcache.process.tls import ensure_self_signed, serving_hosts
from watchcache.process.tokens import TokenFile

NAME: Final = "watchcache"  # cluster, user and context all carry this name
NAMESPACE: Final = "default"


def render_kubeconfig(settings: Settings, *, server: str | None = None) -> str:
    """The kubeconfig YAML for ``settings``: server URL, CA (self-signed TLS) and first token.

    With self-signed TLS the CA is created here if ``serve`` has not run yet; ``serve`` then
    reuses it, so the kubeconfig can be written first. A user-supplied certificate is assumed
    to be trusted by the client already, so no CA is embedded for it.
    """
    cluster: dict[str, Any] = {"server": server or settings.url}
    if settings.self_signed_tls:
        ca_cert, _, _ = ensure_self_signed(settings.data_dir, serving_hosts(settings.host))
        cluster["certificate-authority-data"] = base64.b64encode(ca_cert.read_bytes()).decode()
    user: dict[str, Any] = {}
    if settings.token_file is not None:
        token = TokenFile.load(settings.token_file).first_token
        if token is not None:
            user["token"] = token
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": cluster}],
        "users": [{"name": NAME, "user": user}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": NAMESPACE}}],
        "current-context": NAME,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)

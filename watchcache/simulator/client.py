"""A small asynchronous Kubernetes API client (aiohttp) for the simulator and the load test:
JSON requests with their latency, and an informer's list-then-watch that resumes from its last
resourceVersion and relists on 410.

aiohttp, not httpx: profiled under a 10,000-pod run, httpx's async connection pool spent about
5 ms of CPU per request (an expiry check with a ``select`` per pooled connection, failed module
lookups per call), which made the client, not the server, the bottleneck."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

log = logging.getLogger("watchcache.simulator")

Object = dict[str, Any]
WATCH_TIMEOUT_S = 300  # each watch request's timeoutSeconds; the informer then resumes
RETRY_S = 1.0


class ApiError(Exception):
    """A non-2xx answer: its code and the Status message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def from_kubeconfig(path: Path) -> tuple[str, str | None, ssl.SSLContext | bool]:
    """The current context's server URL, bearer token and TLS verification."""
    config = yaml.safe_load(path.read_text())
    context_name = config.get("current-context")
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    users = config.get("users") or []
    user: dict[str, Any] = next((u["user"] for u in users if u["name"] == context.get("user")), {})
    verify: ssl.SSLContext | bool = not cluster.get("insecure-skip-tls-verify", False)
    if cluster.get("certificate-authority-data"):
        pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        verify = ssl.create_default_context(cadata=pem)
    elif cluster.get("certificate-authority"):
        verify = ssl.create_default_context(cafile=cluster["certificate-authority"])
    token = user.get("token") or (
        Path(user["tokenFile"]).read_text().strip() if user.get("tokenFile") else None
    )
    return cluster["server"], token, verify


class Client:
    def __init__(self, server: str, token: str | None = None, verify: ssl.SSLContext | bool = True) -> None:
        self.server = server.rstrip("/")
        self.headers = {"user-agent": "watchcache-simulator"}
        if token:
            self.headers["authorization"] = f"Bearer {token}"
        self.ssl: ssl.SSLContext | bool = verify
        self._session: aiohttp.ClientSession | None = None
        # every request's (method, path, seconds), for callers that measure API latency
        self.observer: Callable[[str, str, float], None] | None = None
        self.requests = 0

    @property
    def session(self) -> aiohttp.ClientSession:
        """Made on first use, inside the event loop (aiohttp binds a session to its loop)."""
        if self._session is None:
            # no connection limit: every watch holds one for its life (a simulator's per-node
            # watches number its nodes), and callers bound their requests in flight themselves
            connector = aiohttp.TCPConnector(limit=0, ssl=self.ssl)
            timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
            self._session = aiohttp.ClientSession(connector=connector, headers=self.headers, timeout=timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request; the decoded JSON answer (None for an empty one), or :class:`ApiError`."""
        data = body if isinstance(body, bytes) else (orjson.dumps(body) if body is not None else None)
        headers = {"content-type": content_type} if data is not None else None
        self.requests += 1
        started = time.perf_counter()
        async with self.session.request(
            method, self.server + path, data=data, params=params, headers=headers
        ) as response:
            content = await response.read()
        if self.observer is not None:
            self.observer(method, path, time.perf_counter() - started)
        if response.status >= 300:
            try:
                message = orjson.loads(content).get("message", content.decode())
            except (ValueError, AttributeError):
                message = content.decode(errors="replace")
            raise ApiError(response.status, message)
        return orjson.loads(content) if content else None

    async def text(self, path: str) -> str:
        async with self.session.get(self.server + path) as response:
            return await response.text()

    async def informer(
        self, path: str, params: dict[str, str] | None = None
    ) -> AsyncIterator[tuple[str, Object]]:
        """``(type, object)`` of every change under ``path`` (a collection), forever: a list's
        items as ADDED, then the watch's events; after a 410 a relist, with DELETED (the
        object's identity alone) for what went meanwhile. Network errors are retried."""
        known: dict[str, Object] = {}
        rv = ""
        while True:
            try:
                if not rv:
                    listed = await self.call("GET", path, params=params)
                    rv = listed["metadata"]["resourceVersion"]
                    fresh = {_key(o): o for o in listed.get("items") or []}
                    for key in list(known):
                        if key not in fresh:
                            yield "DELETED", known.pop(key)
                    for key, obj in fresh.items():
                        known[key] = _identity(obj)
                        yield "ADDED", obj
                query = {
                    **(params or {}),
                    "watch": "true",
                    "resourceVersion": rv,
                    "allowWatchBookmarks": "true",
                    "timeoutSeconds": str(WATCH_TIMEOUT_S),
                }
                timeout = aiohttp.ClientTimeout(total=None, sock_read=WATCH_TIMEOUT_S + 30)
                async with self.session.get(self.server + path, params=query, timeout=timeout) as response:
                    if response.status >= 300:
                        raise ApiError(response.status, (await response.read()).decode())
                    async for line in response.content:
                        if not line.strip():
                            continue
                        event = orjson.loads(line)
                        kind, obj = event["type"], event["object"]
                        if kind == "ERROR":
                            if obj.get("code") == 410:
                                rv = ""  # too old: relist
                            break
                        rv = obj["metadata"].get("resourceVersion") or rv
                        if kind == "BOOKMARK":
                            continue
                        if kind == "DELETED":
                            known.pop(_key(obj), None)
                        else:
                            known[_key(obj)] = _identity(obj)
                        yield kind, obj
            except (aiohttp.ClientError, TimeoutError, ApiError) as exc:
                log.warning("watch of %s broke off (%s); resuming in %.0fs", path, exc, RETRY_S)
                await asyncio.sleep(RETRY_S)


def _identity(obj: Object) -> Object:
    """What the informer keeps of an object: enough to report it DELETED after a relist."""
    meta = obj["metadata"]
    return {
        "kind": obj.get("kind"),
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid") if k in meta},
    }


def _key(obj: Object) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"

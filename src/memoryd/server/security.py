"""Bearer token, Host and Origin checks (RELIABILITY.md S1-S3, S7).

The same checks apply to WebSocket handshakes (refused with close code 1008).

The token is 32 random bytes, URL-safe base64 (``secrets.token_urlsafe(32)``),
generated on first start into ``settings.resolved_token_file`` with mode 0600.
An existing token file that group or others may access refuses the start.

:class:`SecurityMiddleware` is a pure ASGI middleware; for every HTTP request,
in this order:

1. ``Host`` must name a loopback address (``127.0.0.1``, ``localhost``,
   ``::1``, any port) or one of ``settings.allowed_hosts`` → else 421
   (DNS-rebinding defence).
2. An ``Origin`` header, if present, must be in ``settings.allowed_origins``
   → else 403 (``null`` included). CORS headers are never sent, so browsers
   cannot read responses either way.
3. ``Authorization: Bearer <token>`` on every path except ``/healthz`` → else
   401; compared in constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hmac
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from memoryd.config import Settings
from memoryd.errors import ConfigError
from memoryd.server.errors import send_error
from memoryd.store.space import SpaceReserve, out_of_space, storage_full, write_atomic

__all__ = ["PUBLIC_PATHS", "SecurityMiddleware", "ensure_token", "host_allowed"]

#: Paths served without a token; they carry no data.
PUBLIC_PATHS = frozenset({"/healthz"})
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _check_mode(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"token file {path} has mode {stat.S_IMODE(mode):04o}; group/others must have "
            f"no access. Run: chmod 600 {path}",
            path=str(path),
        )


def ensure_token(settings: Settings) -> str:
    """Read the daemon's bearer token, creating it (mode 0600) on first start.

    Returns:
        the token string (43 URL-safe characters when generated here).

    Raises:
        ConfigError: the token file is accessible by group/others, or empty.
        StorageFull: a new token file could not be written on a full disk, even
            after giving up the space reserve; no temporary file is left behind.
    """
    path = settings.resolved_token_file
    if path.exists():
        _check_mode(path)
        token = path.read_text(encoding="utf-8").strip()
        if not token:
            raise ConfigError(f"token file {path} is empty; delete it to generate one")
        return token
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    data = token.encode("utf-8")
    # Linked into place, not renamed: if another process created the file
    # meanwhile, theirs wins. On a full disk the space reserve is given up first.
    reserve = SpaceReserve.for_settings(settings)
    try:
        created = reserve.call(lambda: write_atomic(path, data, replace=False), path)
    except OSError as exc:
        if out_of_space(exc, path):
            raise storage_full(path, "the token file") from exc
        raise
    return token if created else ensure_token(settings)


def _hostname(host: str) -> str:
    """``"[::1]:7077"`` → ``"::1"``, ``"localhost:80"`` → ``"localhost"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def host_allowed(host: str | None, extra: Iterable[str]) -> bool:
    """Whether a ``Host`` header value names loopback or one of ``extra`` hosts."""
    if not host:
        return False
    name = _hostname(host)
    allowed = {h.lower() for h in extra}
    return name in _LOOPBACK_NAMES or name in allowed or host.lower() in allowed


class SecurityMiddleware:
    """Pure ASGI middleware enforcing Host, Origin and bearer token (see module doc).

    Args:
        app: the wrapped ASGI app.
        token: the expected bearer token.
        settings: uses ``allowed_hosts`` and ``allowed_origins``.
    """

    def __init__(self, app: ASGIApp, *, token: str, settings: Settings) -> None:
        self.app = app
        self._token = token.encode("utf-8")
        self._hosts = tuple(settings.allowed_hosts)
        self._origins = frozenset(settings.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        else:
            status, message = refusal
            extra = [(b"www-authenticate", b'Bearer realm="memoryd"')] if status == 401 else []
            await send_error(send, status, message, headers=extra)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        """``(status, message)`` if the request must be refused, else ``None``."""
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.lower(), value)
        if not host_allowed(headers.get(b"host", b"").decode("latin-1"), self._hosts):
            return 421, "Host header is not an allowed name for this daemon"
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1") not in self._origins:
            return 403, "Origin not allowed"
        if scope["path"] not in PUBLIC_PATHS and not self._authorized(headers):
            return 401, "missing or invalid bearer token"
        return None

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        value = headers.get(b"authorization", b"")
        scheme, _, credentials = value.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(credentials.strip(), self._token)

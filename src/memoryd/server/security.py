"""Bearer tokens, Host and Origin checks (RELIABILITY.md S1-S3, S7).

The same checks apply to WebSocket handshakes (refused with close code 1008).

Tokens live in ``settings.resolved_token_file`` (mode 0600; format and
creation in :mod:`memoryd.tokens`): the file memoryd generates on first start
holds one token (``secrets.token_urlsafe(32)``); more may be added as
``<token id>:<token>`` lines. An existing token file that group or others may
access refuses the start.

:class:`SecurityMiddleware` is a pure ASGI middleware; for every HTTP request,
in this order:

1. Exactly one ``Host`` header, whose value parses strictly as
   ``uri-host [ ":" port ]`` (RFC 9110 section 7.2, RFC 3986 section 3.2.2;
   :func:`parse_host`), naming a loopback address (``127.0.0.1``,
   ``localhost``, ``[::1]``, any port) or one of ``settings.allowed_hosts``
   → else 421 (DNS-rebinding defence).
2. An ``Origin`` header, if present (at most one), must be in
   ``settings.allowed_origins`` → else 403 (``null`` included). CORS headers
   are never sent, so browsers cannot read responses either way.
3. ``Authorization: Bearer <token>`` (at most one such header) on every path
   except ``/healthz`` → else 401; compared in constant time with every
   accepted token (:meth:`memoryd.tokens.TokenSet.match`).

An authenticated request carries its token in the ASGI scope, the way
Starlette's ``AuthenticationMiddleware`` does: ``scope["user"]`` is a
:class:`TokenUser` (``identity`` = the token id) and ``scope["auth"]`` an
``AuthCredentials(["authenticated"])``. The rate limit and the MCP session
binding key on it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.authentication import AuthCredentials, BaseUser
from starlette.types import ASGIApp, Receive, Scope, Send

from memoryd.config import LOOPBACK_HOSTS, Settings
from memoryd.server.errors import send_error
from memoryd.store.space import SpaceReserve, out_of_space, storage_full
from memoryd.tokens import Token, TokenSet, ensure_tokens

__all__ = [
    "PUBLIC_PATHS",
    "SecurityMiddleware",
    "TokenUser",
    "host_allowed",
    "load_tokens",
    "parse_host",
]

#: Paths served without a token; they carry no data.
PUBLIC_PATHS = frozenset({"/healthz"})
# RFC 3986 section 3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ),
# non-empty here (RFC 9110 section 7.2: an empty Host is invalid for http URIs).
_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_PORT = re.compile(r"[0-9]{1,5}")


def load_tokens(settings: Settings) -> TokenSet:
    """The tokens the daemon accepts, creating the token file (0600) on first start.

    On a full disk the space reserve is given up to write a new file
    (:class:`~memoryd.store.space.SpaceReserve`).

    Raises:
        ConfigError: the token file is accessible by group/others, empty or malformed.
        StorageFull: a new token file could not be written on a full disk, even
            after giving up the space reserve; no temporary file is left behind.
    """
    path = settings.resolved_token_file
    reserve = SpaceReserve.for_settings(settings)
    try:
        return reserve.call(lambda: ensure_tokens(path), path)
    except OSError as exc:
        if out_of_space(exc, path):
            raise storage_full(path, "the token file") from exc
        raise


def _port_ok(rest: str) -> bool:
    """``rest`` is empty or ``":"`` followed by a TCP port (1-5 digits, at most 65535)."""
    if not rest:
        return True
    return rest[0] == ":" and _PORT.fullmatch(rest[1:]) is not None and int(rest[1:]) <= 65535


def parse_host(value: str) -> str | None:
    """The host named by a ``Host`` header value, or ``None`` if the value is invalid.

    Grammar (RFC 9110 section 7.2; RFC 3986 section 3.2.2), after trimming
    surrounding spaces/tabs (RFC 9110 section 5.5): ``"[" IPv6address "]"``
    or a reg-name / IPv4 address, then optionally ``":"`` and a port of 1-5
    digits (at most 65535). Invalid: an empty value, whitespace or userinfo
    (``@``) inside, two ports, a bare IPv6 address, anything after ``]``
    other than ``:port``, IPvFuture and zone ids, an empty port.

    Returns:
        the host lower-cased; an IPv6 literal without brackets, compressed
        (``"[0:0::1]:80"`` → ``"::1"``). Example: ``"LocalHost:7077"`` → ``"localhost"``.
    """
    value = value.strip(" \t")
    if value.startswith("["):
        end = value.find("]")
        literal = value[1:end]
        if end < 0 or "%" in literal or not _port_ok(value[end + 1 :]):
            return None
        try:
            return ipaddress.IPv6Address(literal).compressed
        except ValueError:
            return None
    name = value.partition(":")[0]
    if not _REG_NAME.fullmatch(name) or not _port_ok(value[len(name) :]):
        return None
    return name.lower()


def host_allowed(host: str | None, extra: Iterable[str]) -> bool:
    """Whether a ``Host`` header value is valid (:func:`parse_host`) and names loopback
    or one of the ``extra`` hosts (``"name"`` or ``"name:port"``, case-insensitive)."""
    if host is None:
        return False
    name = parse_host(host)
    if name is None:
        return False
    allowed = {h.lower() for h in extra}
    return name in LOOPBACK_HOSTS or name in allowed or host.strip(" \t").lower() in allowed


class TokenUser(BaseUser):
    """The caller of an authenticated request (``scope["user"]``).

    Args:
        token: the token the request carried.
    """

    def __init__(self, token: Token) -> None:
        self.token = token

    @property
    def is_authenticated(self) -> bool:
        """Always true: only authenticated requests carry a ``TokenUser``."""
        return True

    @property
    def display_name(self) -> str:
        """The token id."""
        return self.token.id

    @property
    def identity(self) -> str:
        """The token id: names the caller in logs and keys its rate limit."""
        return self.token.id


_SINGLETONS = (b"host", b"origin", b"authorization")


def _singleton_headers(scope: Scope) -> dict[bytes, bytes] | bytes:
    """``Host``, ``Origin`` and ``Authorization`` of the request, or the name of one sent twice."""
    found: dict[bytes, bytes] = {}
    raw_name: bytes
    value: bytes
    for raw_name, value in scope["headers"]:
        name = raw_name.lower()
        if name in _SINGLETONS:
            if name in found:
                return name
            found[name] = value
    return found


class SecurityMiddleware:
    """Pure ASGI middleware enforcing Host, Origin and bearer token (see module doc).

    Args:
        app: the wrapped ASGI app.
        tokens: the accepted bearer tokens.
        settings: uses ``allowed_hosts`` and ``allowed_origins``.
    """

    def __init__(self, app: ASGIApp, *, tokens: TokenSet, settings: Settings) -> None:
        self.app = app
        self._tokens = tokens
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
        """``(status, message)`` if the request must be refused, else ``None``.

        On success an authenticated request gets ``scope["user"]`` / ``scope["auth"]``.
        """
        headers = _singleton_headers(scope)
        if headers == b"host":
            return 421, "more than one Host header"
        if isinstance(headers, bytes):
            status = 403 if headers == b"origin" else 401
            return status, f"more than one {headers.decode().title()} header"
        if not host_allowed(headers.get(b"host", b"").decode("latin-1"), self._hosts):
            return 421, "Host header is not an allowed name for this daemon"
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1") not in self._origins:
            return 403, "Origin not allowed"
        if scope["path"] in PUBLIC_PATHS:
            return None
        token = self._authenticate(headers.get(b"authorization", b""))
        if token is None:
            return 401, "missing or invalid bearer token"
        scope["user"] = TokenUser(token)
        scope["auth"] = AuthCredentials(["authenticated"])
        return None

    def _authenticate(self, value: bytes) -> Token | None:
        scheme, _, credentials = value.partition(b" ")
        if scheme.lower() != b"bearer":
            return None
        return self._tokens.match(credentials.strip())

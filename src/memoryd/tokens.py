"""Bearer tokens: the token file, its format, and constant-time lookup (RELIABILITY.md S2, S7).

The token file (``Settings.resolved_token_file``, default ``<data_dir>/token``)
must not be accessible by group or others (mode 0600); a daemon refuses to
start otherwise. It holds one or more tokens, one per line::

    # comments and blank lines are ignored
    3oM6xv...K4                     a bare token: token id "default" (the file memoryd writes)
    ci-agent:Jq0Tz...bA             "<token id>:<token>": a named token

* A token id is 1-64 characters of ``A-Z a-z 0-9 _ . -``, starting with a
  letter or digit; ids are unique, and at most one line is a bare token.
* A token is an RFC 6750 ``b64token`` (``A-Z a-z 0-9 - . _ ~ + /``, then
  ``=`` padding) and never contains ``:``; tokens are unique. memoryd
  generates ``secrets.token_urlsafe(32)`` (32 random bytes, 43 characters).

The daemon accepts every token in the file; the token id names the caller in
logs and keys its rate limit (:mod:`memoryd.server.ratelimit`); the token
itself is never logged. Clients (``Client``, the CLI, ``memoryd mcp``) send
the first token of the file. A daemon reads the file at start: restart it
after adding or removing a token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from memoryd.config import check_private_file
from memoryd.errors import ConfigError
from memoryd.store.space import write_atomic

__all__ = [
    "DEFAULT_TOKEN_ID",
    "Token",
    "TokenSet",
    "client_token",
    "ensure_tokens",
    "parse_tokens",
    "read_tokens",
]

#: Token id of a bare token line (the single-token file memoryd generates).
DEFAULT_TOKEN_ID = "default"
_TOKEN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True)
class Token:
    """One accepted bearer token.

    Attributes:
        id: the token id (``"default"`` for a bare line); safe to log.
        secret: the token itself; never logged or echoed.
    """

    id: str
    secret: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """``"sha256:"`` + the first 16 hex digits of SHA-256(token): names a secret without it."""
        return "sha256:" + hashlib.sha256(self.secret.encode("utf-8")).hexdigest()[:16]


class TokenSet:
    """The tokens a daemon accepts, looked up in constant time.

    Args:
        tokens: at least one token; ids and secrets unique.
    """

    def __init__(self, tokens: tuple[Token, ...]) -> None:
        if not tokens:
            raise ConfigError("no bearer token configured")
        self.tokens = tokens
        self._secrets = [(token, token.secret.encode("utf-8")) for token in tokens]

    def __iter__(self) -> Iterator[Token]:
        return iter(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def first(self) -> Token:
        """The first token of the file: the one clients send."""
        return self.tokens[0]

    def match(self, credentials: bytes) -> Token | None:
        """The token equal to ``credentials``, or ``None``.

        Every token is compared with :func:`hmac.compare_digest`, and all of
        them are compared whatever matches, so the time taken says nothing
        about which token (if any) was close.
        """
        found: Token | None = None
        for token, secret in self._secrets:
            if hmac.compare_digest(credentials, secret):
                found = token
        return found


def _line_error(path: Path, number: int, problem: str) -> ConfigError:
    """The error of line ``number`` of the token file (``problem`` never quotes a token)."""
    return ConfigError(f"token file {path} line {number}: {problem}", path=str(path), line=number)


def _parse_line(line: str, number: int, path: Path) -> Token:
    token_id, sep, secret = line.partition(":")
    if not sep:
        token_id, secret = DEFAULT_TOKEN_ID, line
    elif not _TOKEN_ID.fullmatch(token_id):
        raise _line_error(
            path,
            number,
            f"token id {token_id[:64]!r} must be 1-64 of "
            "A-Z a-z 0-9 _ . - starting with a letter or digit",
        )
    if not _B64TOKEN.fullmatch(secret):
        raise _line_error(
            path,
            number,
            "the token (after 'id:') must be 1 or more of "
            "A-Z a-z 0-9 - . _ ~ + / then '=' padding (RFC 6750 b64token)",
        )
    return Token(token_id, secret)


def parse_tokens(text: str, path: Path) -> tuple[Token, ...]:
    """The tokens of a token file's ``text`` (format in the module docstring).

    Args:
        text: the file's content.
        path: the file, named in errors.

    Raises:
        ConfigError: no token, a malformed line, or a duplicate id or token
            (the message names the line, never a token).
    """
    tokens: list[Token] = []
    ids: set[str] = set()
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        token = _parse_line(line, number, path)
        if token.id in ids:
            hint = " (more than one bare token)" if token.id == DEFAULT_TOKEN_ID else ""
            raise _line_error(path, number, f"duplicate token id {token.id!r}{hint}")
        if token.secret in seen:
            raise _line_error(path, number, "the same token appears twice")
        ids.add(token.id)
        seen.add(token.secret)
        tokens.append(token)
    if not tokens:
        raise ConfigError(f"token file {path} holds no token; delete it to generate one")
    return tuple(tokens)


def read_tokens(path: Path) -> TokenSet:
    """Read the token file at ``path`` after checking that only its owner can access it.

    Raises:
        FileNotFoundError: there is no file.
        ConfigError: the file is accessible by group/others, empty or malformed.
    """
    check_private_file(path, "token file", "group/others must have no access")
    return TokenSet(parse_tokens(path.read_text(encoding="utf-8"), path))


def ensure_tokens(path: Path) -> TokenSet:
    """Read the token file, creating it with one generated token (mode 0600) if it is missing.

    The new file is written to a temporary file (0600, fsynced) and linked into
    place (:func:`memoryd.store.space.write_atomic`), so a concurrent creator
    never sees a partial file and the first creator's token wins.

    Raises:
        ConfigError: as :func:`read_tokens`.
        OSError: the new file could not be written (``ENOSPC`` on a full disk);
            no temporary file is left behind.
    """
    if path.exists():
        return read_tokens(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_urlsafe(32)
    if not write_atomic(path, secret.encode("utf-8"), replace=False):
        return read_tokens(path)  # another process created it first: theirs wins
    return TokenSet((Token(DEFAULT_TOKEN_ID, secret),))


def client_token(path: Path) -> str | None:
    """The token a client sends: the first of the file at ``path``; ``None`` if there is none.

    The file's mode is not checked here (the daemon refuses to start over an
    unsafe file; a client only reads its own user's file).

    Raises:
        ConfigError: the file is malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    if not text.strip():
        return None
    return parse_tokens(text, path)[0].secret

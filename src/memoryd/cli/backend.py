"""Which engine a CLI command talks to: the daemon of its store (HTTP) or the store in-process.

:func:`open_backend` sends a command to a daemon only after that daemon has
said which store it serves and that store is the one in ``settings.data_dir``
(:mod:`memoryd.lifecycle.identity`: same store id, same database file).
Candidates, in order: the daemon published in ``<data_dir>/daemon.json``
(any port; its pid must be alive), then a guess at ``settings.base_url``
(only when the data dir already holds a store and a token). A daemon of
another store is skipped with a warning, and the store is opened in-process
with :class:`memoryd.Memory`. An explicit ``--url`` that serves another store
is an error (``store_mismatch``). Both backends have the same methods
(:data:`CommandBackend`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from memoryd.config import Settings
from memoryd.errors import BackendUnavailable
from memoryd.lifecycle.identity import (
    check_daemon,
    find_daemon,
    log_skipped,
    names_store,
    require_same_store,
)
from memoryd.lifecycle.runtime import healthz, read_runtime, read_token

if TYPE_CHECKING:
    from memoryd.client import Client
    from memoryd.engine import Memory

__all__ = ["CommandBackend", "open_backend"]


#: What a command talks to: both have every operation, with the same signatures
#: (``tests/test_public_api.py``). A string, so the engine loads only when opened.
CommandBackend: TypeAlias = "Memory | Client"


def _client(url: str, token: str | None, settings: Settings) -> CommandBackend:
    from memoryd.client import Client  # imported only when a daemon of this store answers

    # verify_store=False: open_backend has just checked that this daemon serves the store.
    return Client(settings, base_url=url, token=token, verify_store=False)


def _named_url(settings: Settings, url: str, token: str | None) -> CommandBackend:
    """The client of the daemon at ``url``, after checking it serves the named store."""
    key = token or read_token(settings)
    if key is not None and names_store(settings):
        require_same_store(settings, url, key, timeout_s=settings.probe_timeout_s)
    elif not healthz(url, timeout_s=settings.probe_timeout_s):
        raise BackendUnavailable(f"no memoryd daemon answers at {url}", url=url)
    return _client(url, token, settings)


def _guessed_url(settings: Settings, token: str | None) -> str | None:
    """``settings.base_url`` if the daemon there serves this store (asked briefly), or ``None``.

    Asked only when this data dir holds a store and a token to verify a daemon against.
    """
    key = token or read_token(settings)
    published = read_runtime(settings)
    if key is None or not settings.db_path.is_file():
        return None  # nothing to verify a daemon against: never send a command on a guess
    if published is not None and published.url == settings.base_url:
        return None  # already asked (or dead) through daemon.json
    check = check_daemon(settings, settings.base_url, key, timeout_s=settings.probe_guess_timeout_s)
    if check.same:
        return settings.base_url
    if check.verdict in ("other", "refused"):
        log_skipped(check, settings)
    return None


def open_backend(
    settings: Settings,
    *,
    url: str | None = None,
    token: str | None = None,
    local: bool = False,
) -> CommandBackend:
    """The client of this store's daemon if one answers, else an in-process :class:`Memory`.

    Args:
        settings: where the store is (``data_dir``); ``probe_timeout_s`` (a
            daemon we know of) and ``probe_guess_timeout_s`` (the guess at
            ``base_url``) bound each probe, in seconds.
        url: an explicit daemon URL; if nobody answers there, or it serves
            another store than a ``data_dir`` set explicitly, this raises
            instead of falling back.
        token: bearer token; default: ``settings.resolved_token_file``.
        local: never contact a daemon; always open the store in-process.

    Raises:
        BackendUnavailable: ``url`` was given and no daemon answers there.
        StoreMismatch: ``url`` serves another store than ``settings.data_dir``.
        Unauthorized: ``url`` refuses the token.
        ConfigError: the store cannot be opened with these settings.
    """
    if not local:
        if url is not None:
            return _named_url(settings, url, token)
        running = find_daemon(settings, token=token)
        target = running.url if running is not None else _guessed_url(settings, token)
        if target is not None:
            return _client(target, token, settings)
    from memoryd.engine import Memory  # the engine loads only for in-process commands

    return Memory(settings, background=False)

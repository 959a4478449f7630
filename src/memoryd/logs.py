"""Structured logging: structlog events rendered as one JSON object per line on stderr.

Example::

    from memoryd.logs import configure_logging
    configure_logging(level="info", fmt="json")
    structlog.get_logger("memoryd.server").info("request", method="GET", status=200)

prints ``{"event": "request", "method": "GET", "status": 200, "level": "info", "logger":
"memoryd.server", "timestamp": "2025-01-01T00:00:00.000000Z"}``.

Standard-library loggers (uvicorn, the engine's ``logging.getLogger`` calls) go
through the same renderer, so every line on stderr has one shape; their
``extra={...}`` fields become keys of the JSON object. The server logs through
the standard library, so nothing is printed when the host application has not
configured logging. Values under
secret-looking keys (``token``, ``authorization``, ``api_key``, ``password``,
``secret``, ``cookie``) are replaced by ``"[redacted]"`` before rendering
(RELIABILITY.md S7); callers must still never pass secrets in messages.

On a full disk (RELIABILITY.md R5) a log line that cannot be written is
dropped and counted, never raised into the code that logged it: one notice
goes to stderr when dropping begins, and the first line written afterwards is
preceded by a warning saying how many were dropped. A log file that cannot
even be created falls back to stderr.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
from collections.abc import MutableMapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any, Literal

import structlog

__all__ = ["REDACTED", "configure_logging", "redact_secrets"]

REDACTED = "[redacted]"
_SECRET_MARKERS = ("token", "authorization", "api_key", "apikey", "password", "secret", "cookie")
_HANDLER_NAME = "memoryd-structlog"
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def redact_secrets(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace values of secret-looking keys by ``"[redacted]"``."""
    for key in list(event_dict):
        lowered = key.lower()
        if any(marker in lowered for marker in _SECRET_MARKERS):
            event_dict[key] = REDACTED
    return event_dict


def _drop_color_message(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: drop uvicorn's ANSI-coloured duplicate of the message."""
    event_dict.pop("color_message", None)
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]


def _formatter(fmt: Literal["json", "console"]) -> logging.Formatter:
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


class _DroppedLines:
    """Mixin for handlers: lines lost to a full disk are counted, then reported.

    ``logging.Handler.handleError`` would print a traceback on stderr for every
    line (on the same full disk, for an auto-started daemon).
    """

    dropped = 0

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        exc = sys.exc_info()[1]
        if not (isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS):
            super().handleError(record)  # type: ignore[misc]
            return
        self.dropped += 1
        if self.dropped == 1:
            with contextlib.suppress(OSError):  # stderr may be on the same full disk
                sys.stderr.write(f"memoryd: the disk is full; dropping log lines ({exc})\n")

    def emit(self, record: logging.LogRecord) -> None:
        dropped = self.dropped
        super().emit(record)  # type: ignore[misc]
        if dropped and self.dropped == dropped:  # this line was written: room again
            self.dropped = 0
            notice = logging.LogRecord(
                "memoryd.logs",
                logging.WARNING,
                __file__,
                0,
                "%d log lines met a full disk (lost, or written late)",
                (dropped,),
                None,
            )
            super().emit(notice)  # type: ignore[misc]


class _FileHandler(_DroppedLines, RotatingFileHandler):
    """The daemon's JSON log file, rotated; tolerant of a full disk."""


class _StreamHandler(_DroppedLines, logging.StreamHandler):  # type: ignore[type-arg]
    """stderr (or the given stream); tolerant of a full disk."""


def _file_handler(path: Path) -> RotatingFileHandler:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    return _FileHandler(path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8")


def configure_logging(
    level: Literal["debug", "info", "warning", "error"] = "info",
    fmt: Literal["json", "console"] = "json",
    *,
    stream: IO[str] | None = None,
    file: Path | None = None,
    console: bool = True,
) -> None:
    """Route structlog and standard logging to ``stream`` (default ``sys.stderr``).

    Idempotent: calling it again replaces the handlers installed before.

    Args:
        level: lowest level written.
        fmt: ``json`` (one object per line, for machines) or ``console`` (coloured, for people).
        stream: where lines go; stdout stays free for command results.
        file: also append JSON lines to this file (created 0600 in a 0700 folder),
            rotated at 10 MiB with 5 old files kept (``logging.handlers.RotatingFileHandler``).
        console: write to ``stream`` too (False for an auto-started daemon, whose
            stderr is only for crash output).
    """
    formatter = _formatter(fmt)
    handlers: list[logging.Handler] = []
    file_error: OSError | None = None
    if file is not None:
        try:
            handlers.append(_file_handler(file))
        except OSError as exc:  # e.g. a full disk: log to stderr instead, and say so
            file_error = exc
    if console or not handlers:
        handlers.append(_StreamHandler(stream or sys.stderr))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.set_name(_HANDLER_NAME)
        json_file = isinstance(handler, RotatingFileHandler)
        handler.setFormatter(_formatter("json") if json_file else formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("httpx", "httpcore"):
        # One INFO line per client request would drown the daemon's and the MCP server's logs.
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers would print a second, differently shaped line.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    if file_error is not None:
        logging.getLogger("memoryd.logs").warning(
            "cannot open the log file %s (%s); logging to stderr", file, file_error
        )

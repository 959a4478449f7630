"""JSON Lines import/export: one JSON object per line, UTF-8.

A line is either an exported :class:`~memoryd.types.MemoryEntry` (it has a
``content_hash``; restored losslessly with its id, times, history links and
vector) or a :class:`~memoryd.types.MemoryInput`-like dict (``content`` plus
optional ``kind``, ``namespace``, ``metadata``, ``id``, ``vector``...), which
is saved as a new memory. Blank lines are skipped.

Vectors are written as JSON lists of the stored float32 values; reading them
back as float32 gives the same bits (every float32 is exactly representable
as the float64 that JSON carries).

An export is written in full before it is handed on (:func:`spool_jsonl`): a
damaged store fails the export with an error instead of a stream that stops
half-way after a success status.
"""

from __future__ import annotations

import errno
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from memoryd.errors import StorageError, StorageFull, ValidationError
from memoryd.types import MemoryEntry, MemoryInput

__all__ = [
    "JsonlRecord",
    "Spooled",
    "parse_record",
    "read_jsonl",
    "spool_jsonl",
    "write_jsonl",
]

#: A parsed line: an exported entry (lossless restore) or an input (new memory).
JsonlRecord = MemoryEntry | MemoryInput


def read_jsonl(stream: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line (numbers start at 1).

    Raises:
        ValidationError: a line is not UTF-8, not JSON, or not a JSON object
            (message names the line).
    """
    number = 0
    try:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except (ValueError, RecursionError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                raise ValidationError(
                    f"line {number}: invalid JSON: {reason}", line=number
                ) from exc
            if not isinstance(value, dict):
                raise ValidationError(f"line {number}: expected a JSON object", line=number)
            yield number, value
    except UnicodeDecodeError as exc:  # decoding the line after the last one read
        raise ValidationError(
            f"line {number + 1} or near it: not UTF-8 ({exc.reason})", line=number + 1
        ) from exc


def parse_record(
    record: dict[str, Any], *, line: int = 0, namespace: str | None = None
) -> JsonlRecord:
    """Validate one JSONL object as an entry or an input.

    Args:
        record: the decoded line.
        line: its line number, for error messages.
        namespace: if given, replaces the record's namespace.

    Raises:
        ValidationError: the object fits neither model (message names the line).
    """
    data = dict(record)
    if namespace is not None:
        data["namespace"] = namespace
    try:
        if "content_hash" in data:  # an exported entry
            return MemoryEntry.model_validate(data)
        return MemoryInput.model_validate(data)
    except ValueError as exc:
        first = str(exc).splitlines()
        detail = " ".join(part.strip() for part in first[:3])
        raise ValidationError(f"line {line}: {detail}", line=line) from exc


def write_jsonl(entries: Iterable[MemoryEntry], stream: IO[str]) -> int:
    """Write one entry per line (all fields, ``vector`` included); returns the count."""
    count = 0
    for entry in entries:
        stream.write(entry.model_dump_json() + "\n")
        count += 1
    return count


@dataclass(frozen=True)
class Spooled:
    """A complete JSONL export in an anonymous temporary file (nothing is left on disk).

    Attributes:
        file: the file, positioned at its start.
        size: bytes written.
    """

    file: IO[bytes]
    size: int

    def chunks(self, chunk_bytes: int = 1 << 16) -> Iterator[bytes]:
        """The file's bytes in chunks of at most ``chunk_bytes``; closes it at the end."""
        try:
            while data := self.file.read(chunk_bytes):
                yield data
        finally:
            self.file.close()


def spool_jsonl(entries: Iterable[MemoryEntry], *, directory: Path | None = None) -> Spooled:
    """Write every entry to an anonymous temporary file first (in ``directory``, else the
    system's temporary folder); returns it rewound.

    An error while reading the entries (``StoreCorrupted`` on a damaged row)
    propagates before anything is sent, and the file is gone.

    Raises:
        StorageFull: the temporary file's disk is full.
        StorageError: it cannot be written for another reason.
    """
    try:
        handle = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - returned open
    except OSError as exc:
        raise _spool_error(exc) from exc
    try:
        for entry in entries:
            handle.write(entry.model_dump_json().encode() + b"\n")
        handle.flush()
        size = handle.tell()
        handle.seek(0)
    except OSError as exc:
        handle.close()
        raise _spool_error(exc) from exc
    except BaseException:
        handle.close()
        raise
    return Spooled(handle, size)


def _spool_error(exc: OSError) -> Exception:
    if exc.errno == errno.ENOSPC:
        return StorageFull("no disk space to prepare the export; free disk space")
    return StorageError(f"cannot prepare the export: {exc}")

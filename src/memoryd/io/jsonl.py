"""JSON Lines import/export: one JSON object per line, UTF-8.

A line is either an exported :class:`~memoryd.types.MemoryEntry` (it has a
``content_hash``; restored losslessly with its id, times, history links and
vector) or a :class:`~memoryd.types.MemoryInput`-like dict (``content`` plus
optional ``kind``, ``namespace``, ``metadata``, ``id``, ``vector``...), which
is saved as a new memory. Blank lines are skipped.

Vectors are written as JSON lists of the stored float32 values; reading them
back as float32 gives the same bits (every float32 is exactly representable
as the float64 that JSON carries).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from memoryd.errors import ValidationError
from memoryd.types import MemoryEntry, MemoryInput

__all__ = ["JsonlRecord", "is_exported_entry", "parse_record", "read_jsonl", "write_jsonl"]

#: A parsed line: an exported entry (lossless restore) or an input (new memory).
JsonlRecord = MemoryEntry | MemoryInput


def read_jsonl(stream: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line (numbers start at 1).

    Raises:
        ValidationError: a line is not JSON, or not a JSON object (message names the line).
    """
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise ValidationError(f"line {number}: invalid JSON: {reason}", line=number) from exc
        if not isinstance(value, dict):
            raise ValidationError(f"line {number}: expected a JSON object", line=number)
        yield number, value


def is_exported_entry(record: dict[str, Any]) -> bool:
    """True when ``record`` is an exported entry (it carries a ``content_hash``)."""
    return "content_hash" in record


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
        if is_exported_entry(data):
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
        stream.write(entry.model_dump_json())
        stream.write("\n")
        count += 1
    return count

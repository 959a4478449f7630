"""Dates of the benchmark files, which give no time zone: read as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from memoryd.errors import ValidationError

__all__ = ["parse_utc"]


def parse_utc(value: str, fmt: str, source: str) -> datetime:
    """``value`` (runs of white space folded) parsed with ``strptime(fmt)``, as aware UTC.

    ``source`` names the file format in the error (``"LoCoMo session"``).

    Raises:
        ValidationError: ``value`` is not in that format.
    """
    try:
        parsed = datetime.strptime(" ".join(value.split()), fmt)
    except ValueError as exc:
        raise ValidationError(f"unparseable {source} date {value!r}", value=value) from exc
    return parsed.replace(tzinfo=UTC)

"""Schemathesis hooks for S10 (loaded through ``SCHEMATHESIS_HOOKS``).

``POST /v1/import`` takes ``application/x-ndjson`` (JSON Lines text), which
schemathesis has no serializer for: generated strings are sent as UTF-8
bytes (lone surrogates kept as the invalid bytes they encode to, so the
daemon's decoding is fuzzed as well).
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")

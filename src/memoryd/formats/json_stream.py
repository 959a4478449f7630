"""Reading large JSON files item by item: compressed or not, a top-level array streamed.

:func:`open_binary` opens plain, gzip or xz files (told apart by their first
bytes, not their names); :func:`iter_json_array` yields the elements of a
top-level JSON array one at a time with ijson (its C yajl2 backend), holding in
memory only the element being built.
"""

from __future__ import annotations

import gzip
import io
import itertools
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from memoryd.errors import ValidationError

__all__ = ["DECODE_ERRORS", "iter_json_array", "open_binary"]

_XZ_MAGIC = b"\xfd7zXZ\x00"
_GZIP_MAGIC = b"\x1f\x8b"

#: What reading a damaged compressed file raises (callers turn it into a
#: ``ValidationError`` naming the file).
DECODE_ERRORS: tuple[type[Exception], ...] = (lzma.LZMAError, gzip.BadGzipFile, EOFError)


def open_binary(path: Path) -> io.BufferedIOBase:
    """``path`` opened for reading as bytes, decompressing xz or gzip on the fly.

    Raises:
        OSError: the file cannot be opened.
    """
    with path.open("rb") as probe:
        magic = probe.read(len(_XZ_MAGIC))
    if magic.startswith(_XZ_MAGIC):
        return lzma.open(path, "rb")
    if magic.startswith(_GZIP_MAGIC):
        return gzip.open(path, "rb")
    return path.open("rb")


def iter_json_array(stream: io.BufferedIOBase, name: str = "<stream>") -> Iterator[Any]:
    """Yield each element of the JSON array that is the whole of ``stream`` (UTF-8 bytes).

    ``name`` labels errors (the file's path). Numbers with a fraction or an
    exponent come back as ``float``.

    Raises:
        ValidationError: the text is not one JSON array or not UTF-8 (checked as
            far as it is read: a consumer that stops early never sees later errors).
    """
    events = ijson.parse(stream, use_float=True)
    try:
        first = next(events, None)
        if first is None or first[1] != "start_array":
            raise ValidationError(f"{name}: invalid JSON: expected a top-level array", path=name)
        yield from ijson.items(itertools.chain([first], events), "item")
    except ijson.JSONError as exc:
        raise ValidationError(f"{name}: invalid JSON: {exc}", path=name) from exc

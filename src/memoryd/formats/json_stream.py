"""Reading large JSON files item by item: compressed or not, a top-level array streamed.

:func:`open_text` opens plain, gzip or xz files (told apart by their first
bytes, not their names) as UTF-8 text; :func:`iter_json_array` yields the
elements of a top-level JSON array one at a time, holding in memory only the
element being decoded and the unread rest of one read (the whole file only
when it is not valid JSON, found at its end).
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from memoryd.errors import ValidationError

__all__ = ["DECODE_ERRORS", "iter_json_array", "open_text"]

_XZ_MAGIC = b"\xfd7zXZ\x00"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_SPACE = " \t\n\r"

#: What reading a damaged compressed or non-UTF-8 file raises (callers turn it into
#: a ``ValidationError`` naming the file).
DECODE_ERRORS: tuple[type[Exception], ...] = (
    lzma.LZMAError,
    gzip.BadGzipFile,
    EOFError,
    UnicodeDecodeError,
)


def open_text(path: Path) -> TextIO:
    """``path`` opened for reading as UTF-8 text, decompressing xz or gzip on the fly.

    Raises:
        OSError: the file cannot be opened.
    """
    with path.open("rb") as probe:
        magic = probe.read(len(_XZ_MAGIC))
    if magic.startswith(_XZ_MAGIC):
        return io.TextIOWrapper(lzma.open(path, "rb"), encoding="utf-8")
    if magic.startswith(_GZIP_MAGIC):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


class _Reader:
    """A text buffer over ``stream`` that reads more on demand (reads grow with the buffer)."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.text = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Read more text (at least as much as is buffered); False at end of file."""
        if self.eof:
            return False
        chunk = self.stream.read(max(_CHUNK, len(self.text) - self.pos))
        if not chunk:
            self.eof = True
            return False
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-space character, consumed spaces skipped (``""`` at end of file)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def error(self, message: str) -> ValidationError:
        return ValidationError(f"{self.name}: invalid JSON: {message}", path=self.name)


def iter_json_array(stream: TextIO, name: str = "<stream>") -> Iterator[Any]:
    """Yield each element of the JSON array that is the whole of ``stream``.

    ``name`` labels errors (the file's path).

    Raises:
        ValidationError: the text is not one JSON array (checked as far as it
            is read: a consumer that stops early never sees later errors).
    """
    reader = _Reader(stream, name)
    decoder = json.JSONDecoder()
    if reader.peek() != "[":
        raise reader.error("expected a top-level array")
    reader.pos += 1
    first = True
    while True:
        char = reader.peek()
        if char == "]":
            reader.pos += 1
            if reader.peek() != "":
                raise reader.error("text after the top-level array")
            return
        if not first:
            if char != ",":
                raise reader.error(f"expected ',' or ']', got {char!r}")
            reader.pos += 1
            reader.peek()
        first = False
        while True:
            try:
                value, end = decoder.raw_decode(reader.text, reader.pos)
            except json.JSONDecodeError as exc:
                if reader.more():
                    continue
                raise reader.error(exc.msg) from exc
            cut = end == len(reader.text) and not isinstance(value, (dict, list, str))
            if cut and reader.more():  # a number or literal cut by the end of the buffer
                continue
            break
        reader.pos = end
        yield value

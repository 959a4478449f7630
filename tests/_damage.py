"""Damage to a store file for the corruption tests: seeded flips (RELIABILITY.md R7) and
fixed damage for unit tests.

Pages come from the ``dbstat`` virtual table (which page belongs to which
table or index, and its type). Inside a B-tree page a flip lands in what
SQLite reads: the page header, the cell pointer array or a cell (header,
key, local payload, overflow pointer), parsed as in
https://www.sqlite.org/fileformat2.html#b_tree_pages. Free blocks, the
unallocated gap between the cell pointer array and the cell content area,
and fragments are excluded: SQLite never reads those bytes, they carry no
data, and flipping them cannot change anything a reader sees. On an
overflow page the flip lands in the next-page pointer or the payload bytes
it holds (``dbstat.payload``); the rest of the last overflow page is unused.
The ``-wal`` target flips one of the 32 header bytes.
"""

from __future__ import annotations

import random
import sqlite3
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: What a flip can target: tables and indexes of the store (``dbstat`` names), and the WAL.
WAL_HEADER = "-wal header"


@dataclass(frozen=True)
class Flip:
    """One byte XOR-ed with ``mask`` at ``offset`` of ``file`` (``memoryd.db`` or ``-wal``)."""

    target: str
    file: str
    offset: int
    mask: int
    page: int | None = None
    page_type: str | None = None

    def apply(self, data_dir: Path) -> None:
        """Flip the byte in ``data_dir``'s copy of the file."""
        path = data_dir / self.file
        with path.open("r+b") as handle:
            handle.seek(self.offset)
            byte = handle.read(1)[0]
            handle.seek(self.offset)
            handle.write(bytes([byte ^ self.mask]))


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = 0
    for k in range(8):
        byte = buf[i + k]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i + k + 1
    return (value << 8) | buf[i + 8], i + 9


def _local_payload(size: int, usable: int, table_leaf: bool) -> int:
    """Bytes of a payload stored in the cell itself (fileformat2.html, "Cell Payload Overflow")."""
    most = usable - 35 if table_leaf else ((usable - 12) * 64 // 255) - 23
    if size <= most:
        return size
    least = ((usable - 12) * 32 // 255) - 23
    k = least + ((size - least) % (usable - 4))
    return k if k <= most else least


def used_ranges(page: bytes, pgno: int, usable: int) -> list[tuple[int, int]]:
    """``[start, end)`` byte ranges of a B-tree page that SQLite reads."""
    base = 100 if pgno == 1 else 0
    kind = page[base]
    if kind not in (2, 5, 10, 13):
        raise ValueError(f"page {pgno} is not a B-tree page (type {kind})")
    header = 12 if kind in (2, 5) else 8
    (cells,) = struct.unpack(">H", page[base + 3 : base + 5])
    ranges = [(base, base + header + 2 * cells)]
    for n in range(cells):
        at = base + header + 2 * n
        (start,) = struct.unpack(">H", page[at : at + 2])
        i = start + (4 if kind in (2, 5) else 0)  # left child page number
        if kind == 5:  # table interior: child pointer + rowid
            _, i = _varint(page, i)
            ranges.append((start, i))
            continue
        size, i = _varint(page, i)
        if kind == 13:  # table leaf: payload size, rowid, payload
            _, i = _varint(page, i)
        local = _local_payload(size, usable, table_leaf=kind == 13)
        ranges.append((start, i + local + (4 if local < size else 0)))
    return ranges


def page_map(db: Path) -> tuple[int, list[tuple[str, int, str, int]]]:
    """``(page size, [(object name, page number, page type, payload bytes), ...])``."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT name, pageno, pagetype, payload FROM dbstat").fetchall()
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        conn.close()
    return size, [(str(n), int(p), str(t), int(b)) for n, p, t, b in rows]


def plan_flips(db: Path, targets: list[str], count: int, seed: int) -> list[Flip]:
    """``count`` flips over ``targets`` in turn (so each gets its share), seeded.

    A target is a ``dbstat`` name, ``name:pagetype`` (``memories:overflow``)
    or :data:`WAL_HEADER`. Each flip picks a page of its target uniformly,
    then a byte uniformly among the page's used bytes, then a non-zero XOR mask.
    """
    rng = random.Random(seed)
    usable, pages = page_map(db)
    data = db.read_bytes()
    flips: list[Flip] = []
    for n in range(count):
        target = targets[n % len(targets)]
        mask = rng.randrange(1, 256)
        if target == WAL_HEADER:
            flips.append(Flip(target, db.name + "-wal", rng.randrange(32), mask))
            continue
        wanted, _, page_type = target.partition(":")
        candidates = [p for p in pages if p[0] == wanted and page_type in ("", p[2])]
        name, pgno, kind, payload = rng.choice(candidates)
        start = (pgno - 1) * usable
        if kind == "overflow":
            ranges = [(0, 4 + payload)]
        else:
            ranges = used_ranges(data[start : start + usable], pgno, usable)
        pick = rng.randrange(sum(end - begin for begin, end in ranges))
        for begin, end in ranges:
            if pick < end - begin:
                offset = begin + pick
                break
            pick -= end - begin
        flips.append(Flip(name, db.name, start + offset, mask, pgno, kind))
    return flips


# --- deterministic damage for unit tests ------------------------------------
def pages_of(db: Path, name: str, kind: str = "leaf") -> list[int]:
    """Page numbers of ``name`` (a table or index) of type ``kind``, ascending."""
    _, pages = page_map(db)
    return sorted(p for n, p, t, _ in pages if n == name and t == kind)


def garble_page(db: Path, pgno: int) -> None:
    """Make page ``pgno`` unreadable: its cell count claims far more cells than fit.

    Reading a row of that page gives "database disk image is malformed".
    """
    size, _ = page_map(db)
    with db.open("r+b") as handle:
        handle.seek((pgno - 1) * size + 3)
        handle.write(b"\xff\xf0")


def flip_text(db: Path, needle: bytes, *, table: str | None = None, mask: int = 0x01) -> int:
    """XOR the first byte of ``needle`` in ``db``; returns its offset in the file.

    ``needle`` must occur once in the file, or once in the pages of ``table``
    when given. Stands for a flipped bit inside a row's payload, which no
    SQLite check sees.
    """
    data = db.read_bytes()
    size, pages = page_map(db)
    allowed = {p for n, p, _, _ in pages if n == table}
    found = []
    at = data.find(needle)
    while at >= 0:
        if table is None or at // size + 1 in allowed:
            found.append(at)
        at = data.find(needle, at + 1)
    assert len(found) == 1, f"{needle!r} occurs {len(found)} times in {table or 'the file'}"
    with db.open("r+b") as handle:
        handle.seek(found[0])
        handle.write(bytes([data[found[0]] ^ mask]))
    return found[0]


def rowids_on(db: Path, pgno: int) -> list[int]:
    """The rowids stored in table-leaf page ``pgno``."""
    size, _ = page_map(db)
    data = db.read_bytes()[(pgno - 1) * size : pgno * size]
    base = 100 if pgno == 1 else 0
    assert data[base] == 13, f"page {pgno} is not a table leaf"
    (cells,) = struct.unpack(">H", data[base + 3 : base + 5])
    out = []
    for n in range(cells):
        (start,) = struct.unpack(">H", data[base + 8 + 2 * n : base + 10 + 2 * n])
        _, i = _varint(data, start)
        out.append(_varint(data, i)[0])
    return out


# --- vector-index checkpoint damage (issue 11 defect 2) -----------------------------
# Each takes ``<data_dir>/index`` holding a sound checkpoint and damages it in one way.


def _usearch_file(index_dir: Path) -> Path:
    files = sorted(index_dir.glob("*.usearch"))
    assert files, f"no .usearch file in {index_dir}"
    return files[0]


def _manifest(index_dir: Path) -> dict[str, object]:
    import json

    data: dict[str, object] = json.loads((index_dir / "manifest.json").read_text("utf-8"))
    return data


def _write_manifest(index_dir: Path, data: dict[str, object]) -> None:
    import json

    (index_dir / "manifest.json").write_text(json.dumps(data), "utf-8")


def _rewrite_usearch(index_dir: Path, change: Callable[[bytes], bytes]) -> None:
    path = _usearch_file(index_dir)
    path.write_bytes(change(path.read_bytes()))


def _flip_middle(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF  # inside the graph or vectors; the usearch header is intact
    return bytes(out)


INDEX_DAMAGE: dict[str, Callable[[Path], object]] = {
    "empty manifest": lambda d: (d / "manifest.json").write_bytes(b""),
    "garbled manifest": lambda d: (d / "manifest.json").write_bytes(b'{"version": 2, "mod\xff'),
    "manifest is a list": lambda d: (d / "manifest.json").write_text("[1, 2, 3]"),
    "manifest without applied_seq": lambda d: _write_manifest(
        d, {k: v for k, v in _manifest(d).items() if k != "applied_seq"}
    ),
    "manifest seq is a string": lambda d: _write_manifest(d, _manifest(d) | {"applied_seq": "7"}),
    "manifest namespaces is a list": lambda d: _write_manifest(
        d, _manifest(d) | {"namespaces": []}
    ),
    "manifest names a path": lambda d: _write_manifest(
        d, _manifest(d) | {"namespaces": {"default": "../memoryd.db"}}
    ),
    "manifest names a missing file": lambda d: _usearch_file(d).unlink(),
    "truncated usearch": lambda d: _rewrite_usearch(d, lambda b: b[: len(b) // 2]),
    "zeroed usearch": lambda d: _rewrite_usearch(d, lambda b: bytes(len(b))),
    "random usearch": lambda d: _rewrite_usearch(d, lambda b: random.Random(11).randbytes(len(b))),
    "one byte flipped in usearch": lambda d: _rewrite_usearch(d, _flip_middle),
}
"""Damage to a vector-index checkpoint, by name: ``INDEX_DAMAGE[name](index_dir)``."""

"""Scrubbing a usearch index's free slots before it is saved, so deleted vectors leave no copy.

usearch's ``Index.remove`` only marks a slot free: the vector stays in
memory and in every file saved afterwards (measured with usearch 2.26:
``remove(key, compact=True)`` and ``Index.copy()`` keep it too). A later
``add`` reuses free slots first-in first-out, overwriting them. So before a
checkpoint, :func:`scrub_free_slots` fills every free slot with a filler
vector under temporary keys and removes those again; when most slots are
free it builds a compact index from the live vectors instead (cheaper, and
nothing of the old slots is copied).

``Index.stats.nodes`` counts allocated slots, live or free, so the number of
free slots is ``stats.nodes - len(index)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

# onnxruntime must be imported before usearch (see store/vector_index.py).
import onnxruntime  # noqa: F401, I001
from usearch.index import Index  # noqa: I001

__all__ = ["SCRUB_KEY_BASE", "free_slots", "scrub_free_slots"]

#: First temporary key of the filler vectors: above every SQLite rowid (< 2**63).
SCRUB_KEY_BASE = 2**63


def free_slots(index: Index) -> int:
    """Slots of ``index`` that hold a removed (or never reused) vector."""
    return max(0, int(index.stats.nodes) - len(index))


def scrub_free_slots(index: Index, new_index: Callable[[], Index]) -> Index:
    """Overwrite every free slot of ``index``; returns it, or a compact rebuild.

    Args:
        index: a namespace's index; changed in place when scrubbed.
        new_index: makes an empty index with the same parameters (for the rebuild).

    Returns:
        ``index`` itself (scrubbed) when live vectors are fewer than free slots
        would cost to rebuild, else a new index holding only the live vectors.
    """
    free = free_slots(index)
    if free == 0:
        return index
    live = len(index)
    if live <= free:  # rebuilding `live` vectors costs less than filling `free` slots
        fresh = new_index()
        if live:
            keys = np.asarray(index.keys, dtype=np.uint64)
            got = index.get(keys)
            assert got is not None  # every key of index.keys is present
            vectors = np.stack([np.asarray(v, dtype=np.float32).reshape(-1) for v in got])
            fresh.add(keys, vectors, threads=os.cpu_count() or 1)
        return fresh
    filler = np.zeros((free, index.ndim), dtype=np.float32)
    filler[:, 0] = 1.0
    keys = np.arange(SCRUB_KEY_BASE, SCRUB_KEY_BASE + free, dtype=np.uint64)
    index.add(keys, filler, threads=os.cpu_count() or 1)
    index.remove(keys)
    return index

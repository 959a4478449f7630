"""In-memory HNSW vector index, one per namespace, checkpointed to disk.

The SQLite ``vectors`` table is the source of truth; this index is a cache of
it that makes top-k search over 100k vectors take about a millisecond
(numbers in ``docs/perf/vector_index.md``). It is kept in step through the
``index_log`` table: every committed write appends an ``upsert`` or
``delete`` operation, and :meth:`VectorIndex.apply` replays operations in
``seq`` order. Replaying is idempotent, so after a crash the index loaded
from its last checkpoint catches up by replaying the log from the
checkpoint's ``applied_seq``. A long-lived store stages that tail instead
(:meth:`VectorIndex.stage`, ``store/index_pending.py``): searched exactly at
once, inserted into the graphs in the background (:meth:`VectorIndex.drain`).

Files in ``<data_dir>/index/``: ``manifest.json`` (model, dim, applied_seq,
namespace -> file, and each file's size, CRC-32 and vector count) and one
usearch file per namespace. A checkpoint writes each file to a temporary
name, fsyncs and renames it, then does the same for the manifest
(``store/index_checkpoint.py``). A checkpoint that is damaged in any way is
never fatal: :meth:`VectorIndex.load_checkpoint` reports it and the store
rebuilds the index from ``vectors``.

Keys are ``memories.rowid``; vectors are L2-normalised, so the inner-product
metric gives ``similarity = 1 - distance`` (cosine). The index holds them as
float16 (:data:`HNSW_DTYPE`): half the memory of float32 and a faster graph
walk, for similarities within ~1e-4 of the float32 ones (measured in
docs/PERFORMANCE.md); the float32 vectors in SQLite stay the truth.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

# onnxruntime must be loaded before usearch: once usearch's compiled module is
# loaded, importing onnxruntime 1.31 segfaults (usearch 2.26, Linux x86-64).
import onnxruntime  # noqa: F401, I001  (import order matters, see above)
from usearch.index import Index  # noqa: I001

from memoryd.store.index_checkpoint import (
    MANIFEST,
    CheckpointDamaged,
    FileEntry,
    Manifest,
    checkpoint_lock,
    file_crc32,
    load_indexes,
    manifest_text,
    read_manifest,
    save_replace,
)
from memoryd.store.index_pending import IndexOp, StagedVectors, merge_hits
from memoryd.store.index_scrub import scrub_free_slots

__all__ = ["HNSW_DTYPE", "HNSW_PARAMS", "INDEX_FORMAT", "VECTOR_ATOL", "VectorIndex", "same_vector"]

log = logging.getLogger("memoryd.store")

#: usearch HNSW parameters (M=16, efConstruction=128, efSearch=128): chosen in
#: docs/perf/vector_index.md: recall@10 0.998, recall@100 0.98, ~1 ms per query at 100k.
HNSW_CONNECTIVITY = 16
HNSW_EXPANSION_ADD = 128
HNSW_EXPANSION_SEARCH = 128
HNSW_PARAMS = {
    "connectivity": HNSW_CONNECTIVITY,
    "expansion_add": HNSW_EXPANSION_ADD,
    "expansion_search": HNSW_EXPANSION_SEARCH,
}
#: Namespaces with at most this many vectors are searched exactly (a SIMD
#: scan: ~1 ms at 5,000 x 384 here), so small namespaces never lose recall to
#: the approximate graph; larger ones use HNSW.
EXACT_SCAN_MAX = 5_000
#: Element type of the vectors inside the index. float16 on the 100k
#: benchmark store: top-125 search 1.41 → 1.14 ms, index 286 → 152 MB,
#: recall@100 unchanged, returned similarities within 9e-5 of float32.
HNSW_DTYPE = "f16"
#: Checkpoint format: 1 = float32 vectors, 2 = float16. A checkpoint of
#: another format is not loaded; the index is rebuilt from ``vectors`` once.
INDEX_FORMAT = 2
#: Largest per-element difference at which an indexed vector counts as equal
#: to a stored float32 one (float16 keeps ~3 significant digits; the elements
#: of a unit 384-dim vector are below 1, so rounding moves them by < 5e-4).
VECTOR_ATOL = 1e-3
#: Reads of a checkpoint that another process replaced meanwhile, before it counts as damaged.
LOAD_ATTEMPTS = 3


def same_vector(indexed: npt.NDArray[np.floating], stored: npt.NDArray[np.float32]) -> bool:
    """Whether an indexed (float16) vector copies a stored float32 one (:data:`VECTOR_ATOL`)."""
    return bool(np.allclose(indexed.reshape(-1), stored.reshape(-1), rtol=0, atol=VECTOR_ATOL))


def _file_name(namespace: str, seq: int) -> str:
    """``<sha1(namespace)[:20]>-<seq>.usearch``: each checkpoint writes new files.

    The manifest on disk keeps naming the files it describes until the next
    manifest replaces it; then they are deleted. A checkpoint that fails half
    way (a full disk) leaves the previous checkpoint whole.
    """
    # A file name, not a security use of SHA-1 (B324).
    digest = hashlib.sha1(namespace.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{digest[:20]}-{seq}.usearch"


class VectorIndex:
    """Per-namespace usearch HNSW indexes with log replay and checkpoints.

    Args:
        directory: where checkpoints live.
        dim: vector dimension.
        model: embedding model name (a checkpoint for another model is ignored).

    All methods are thread-safe (one lock; operations take microseconds to ~1 ms).
    """

    def __init__(self, directory: Path, dim: int, model: str) -> None:
        self.directory = directory
        self.dim = dim
        self.model = model
        self.applied_seq = 0
        self._indexes: dict[str, Index] = {}
        self._lock = threading.RLock()
        self._dirty = False
        #: Namespaces whose indexes may hold removed vectors in free slots (scrubbed at save).
        self._unscrubbed: set[str] = set()
        self.damage: str | None = None
        """Why the last :meth:`load_checkpoint` found the checkpoint unusable, or ``None``."""
        self._distrusted: tuple[int, int, int] | None = None
        #: Upserts applied (``applied_seq`` covers them) but not yet in the graphs.
        self._staged = StagedVectors()

    # --- construction ------------------------------------------------------
    def _new(self) -> Index:
        return Index(
            ndim=self.dim,
            metric="ip",
            dtype=HNSW_DTYPE,
            connectivity=HNSW_CONNECTIVITY,
            expansion_add=HNSW_EXPANSION_ADD,
            expansion_search=HNSW_EXPANSION_SEARCH,
        )

    def _namespace_index(self, namespace: str) -> Index:
        index = self._indexes.get(namespace)
        if index is None:
            index = self._new()
            self._indexes[namespace] = index
        return index

    def load_checkpoint(self) -> bool:
        """Load the last checkpoint; ``False`` if absent, for another model/dim/format, or damaged.

        Nothing of a checkpoint is trusted: an unreadable, empty or garbled
        manifest, a missing file, a file whose size or CRC-32 differ from the
        manifest's, one usearch cannot load, or one of another dimension or
        vector count makes this return ``False`` with a warning in the log
        (the caller rebuilds from the ``vectors`` table); :attr:`damage`
        then says what was wrong. The index in memory is left as it was.
        A checkpoint another process replaced while this one read it (its
        old files are deleted once the new manifest is in place) is read
        again, up to :data:`LOAD_ATTEMPTS` times, rather than taken for damage.
        """
        self.damage = None
        for _ in range(LOAD_ATTEMPTS):
            before = self._manifest_id()
            try:
                loaded = self._read_checkpoint()
            except CheckpointDamaged as exc:
                if self._manifest_id() != before:
                    continue  # replaced meanwhile: read the new one
                self.damage = str(exc)
                break
            if loaded is None:
                return False
            manifest, indexes = loaded
            with self._lock:
                self._indexes = indexes
                self._staged.clear()
                self.applied_seq = manifest.applied_seq
                self._dirty = False
                # A checkpoint of older code may hold removed vectors: scrub it at the next save.
                self._unscrubbed = set() if manifest.scrubbed else set(indexes)
            return True
        self.damage = self.damage or "the checkpoint kept changing while it was read"
        self.distrust_saved()
        log.warning(
            "vector-index checkpoint in %s is damaged (%s): rebuilding it from the table",
            self.directory,
            self.damage,
            extra={"code": "index_rebuilt"},
        )
        return False

    def _read_checkpoint(self) -> tuple[Manifest, dict[str, Index]] | None:
        """The manifest and loaded indexes; ``None`` if absent or for another model/dim/format.

        Raises:
            CheckpointDamaged: see :meth:`load_checkpoint`.
        """
        manifest = read_manifest(self.directory)
        if manifest is None:
            return None
        if (manifest.version, manifest.model, manifest.dim) != (INDEX_FORMAT, self.model, self.dim):
            log.info(
                "vector-index checkpoint is for %s/%s (format %s), not %s/%s: rebuilding",
                manifest.model,
                manifest.dim,
                manifest.version,
                self.model,
                self.dim,
            )
            return None
        return manifest, load_indexes(self.directory, manifest, self._new)

    def reset(self, applied_seq: int = 0) -> None:
        """Drop every namespace index (in memory only)."""
        with self._lock:
            self._indexes = {}
            self._staged.clear()
            self._unscrubbed = set()
            self.applied_seq = applied_seq
            self._dirty = True

    def bulk_load(
        self, namespace: str, keys: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]
    ) -> None:
        """Add many vectors at once (rebuilds); ``vectors`` is ``(n, dim)`` float32."""
        if len(keys) == 0:
            return
        with self._lock:
            index = self._namespace_index(namespace)
            index.add(keys.astype(np.uint64), vectors, threads=os.cpu_count() or 1)
            self._dirty = True

    # --- replay ------------------------------------------------------------
    def apply(self, ops: Iterable[IndexOp]) -> int:
        """Replay operations with ``seq > applied_seq`` in order; returns how many applied.

        Consecutive upserts of one namespace are added as one multi-threaded
        batch (bulk imports replay thousands at once); within a run the last
        upsert of a key wins, as it would one by one. An upsert of a staged
        key (:meth:`stage`) replaces the staged vector; a delete drops it.
        """
        pending = [op for op in ops if op.seq > self.applied_seq]
        with self._lock:
            run: list[IndexOp] = []
            for op in pending:
                if op.seq <= self.applied_seq:
                    continue
                staged = self._staged.holds(op.namespace, op.rowid)
                if run and (op.vector is None or staged or op.namespace != run[0].namespace):
                    self._add_run(run)
                    run = []
                if op.vector is not None and staged:
                    self._staged.put(op.namespace, op.rowid, op.vector, in_graph=True)
                    self.applied_seq = op.seq
                elif op.vector is None:
                    self._staged.discard(op.namespace, op.rowid)
                    index = self._namespace_index(op.namespace)
                    key = np.uint64(op.rowid)
                    if key in index:
                        index.remove(key)
                        self._unscrubbed.add(op.namespace)
                    self.applied_seq = op.seq
                else:
                    run.append(op)
            if run:
                self._add_run(run)
            if pending:
                self._dirty = True
        return len(pending)

    def _add_run(self, run: list[IndexOp]) -> None:
        """Upsert a run of one namespace's vectors (last op per key wins)."""
        unique: dict[int, npt.NDArray[np.float32]] = {
            op.rowid: op.vector for op in run if op.vector is not None
        }
        self._upsert(run[0].namespace, unique)
        self.applied_seq = run[-1].seq

    def _upsert(self, namespace: str, unique: dict[int, npt.NDArray[np.float32]]) -> None:
        """Put ``rowid -> vector`` into the graph of ``namespace``.

        Keys not yet indexed are added in one multi-threaded batch. A key
        already indexed with the same vector (a replay after a crash) is left
        alone; one with a different vector is removed and re-added on its own.
        """
        index = self._namespace_index(namespace)
        fresh: list[int] = []
        for rowid, vector in unique.items():
            key = np.uint64(rowid)
            if key not in index:
                fresh.append(rowid)
                continue
            current = index.get(key)
            if current is not None and same_vector(np.asarray(current, np.float32), vector):
                continue
            index.remove(key)
            index.add(key, vector)
            self._unscrubbed.add(namespace)  # the old vector may sit in a free slot
        if fresh:
            keys = np.asarray(fresh, dtype=np.uint64)
            vectors = np.stack([unique[rowid] for rowid in fresh])
            index.add(keys, vectors, threads=os.cpu_count() or 1)

    def stage(self, ops: Iterable[IndexOp]) -> int:
        """Like :meth:`apply`, but upserts wait in the staged buffer instead of the graphs.

        Deletes are applied at once (removing a key costs microseconds);
        staged vectors are searched exactly until :meth:`drain` inserts them.
        For the tail replayed at open, so that start-up does not wait for the
        HNSW inserts (``store/index_pending.py``). Returns how many applied.
        """
        pending = [op for op in ops if op.seq > self.applied_seq]
        with self._lock:
            for op in pending:
                if op.vector is None:
                    self.apply([op])
                    continue
                index = self._indexes.get(op.namespace)
                in_graph = index is not None and np.uint64(op.rowid) in index
                self._staged.put(op.namespace, op.rowid, op.vector, in_graph=in_graph)
                self.applied_seq = op.seq
            if pending:
                self._dirty = True
        return len(pending)

    @property
    def staged(self) -> int:
        """Staged vectors not yet inserted into the graphs (:meth:`stage`)."""
        with self._lock:
            return len(self._staged)

    def drain(self, limit: int) -> int:
        """Insert up to ``limit`` staged vectors of one namespace into its graph.

        Holds the index lock meanwhile (searches wait), so callers pass a
        small ``limit``. Returns how many stay staged.
        """
        with self._lock:
            taken = self._staged.take(limit)
            if taken is not None:
                self._upsert(*taken)
            return len(self._staged)

    # --- queries -----------------------------------------------------------
    def search(
        self, namespace: str, query: npt.NDArray[np.float32], k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Top-``k`` keys and cosine similarities in ``namespace``, best first.

        Exact for namespaces of at most :data:`EXACT_SCAN_MAX` vectors, HNSW above;
        staged vectors (:meth:`stage`) are scanned exactly and merged in.
        """
        with self._lock:
            index = self._indexes.get(namespace)
            overridden = self._staged.overrides(namespace)
            keys, sims = np.empty(0, np.int64), np.empty(0, np.float32)
            if index is not None and len(index) > 0:
                exact = len(index) <= EXACT_SCAN_MAX
                want = min(k + len(overridden), len(index))
                matches = index.search(query, want, exact=exact)
                keys = np.asarray(matches.keys, dtype=np.int64)
                sims = 1.0 - np.asarray(matches.distances, dtype=np.float32)
            staged = self._staged.search(namespace, query, k)
            return merge_hits((keys, sims), staged, overridden, k)

    def vectors(self, namespace: str, keys: list[int]) -> npt.NDArray[np.float32]:
        """``(len(keys), dim)`` indexed vectors for ``keys`` as float32 (rows of NaN if missing).

        These are the index's float16 copies (within :data:`VECTOR_ATOL` of the
        stored vectors): good for MMR and filtered exact search, not for export.
        """
        out = np.full((len(keys), self.dim), np.nan, dtype=np.float32)
        if not keys:
            return out
        with self._lock:
            index = self._indexes.get(namespace)
            got = None if index is None else index.get(np.asarray(keys, dtype=np.uint64))
            staged = [self._staged.get(namespace, key) for key in keys]  # newer than the graph's
        rows = [None] * len(keys) if got is None else list(got)
        for i, (vec, newer) in enumerate(zip(rows, staged, strict=True)):
            if newer is not None:
                out[i] = newer
            elif vec is not None:
                out[i] = np.asarray(vec, dtype=np.float32).reshape(-1)[: self.dim]
        return out

    def namespaces(self) -> list[str]:
        """Namespaces that have an index (possibly empty)."""
        with self._lock:
            return list(dict.fromkeys([*self._indexes, *self._staged.namespaces()]))

    def size(self, namespace: str | None = None) -> int:
        """Number of vectors in one namespace, or in all."""
        with self._lock:
            if namespace is not None:
                index = self._indexes.get(namespace)
                return (0 if index is None else len(index)) + self._staged.fresh(namespace)
            fresh = sum(self._staged.fresh(ns) for ns in self._staged.namespaces())
            return sum(len(index) for index in self._indexes.values()) + fresh

    # --- persistence -------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """True when the index changed since the last checkpoint."""
        return self._dirty

    def _manifest_id(self) -> tuple[int, int, int] | None:
        """Identity of the manifest file now on disk (inode, size, mtime), or ``None``."""
        try:
            st = (self.directory / MANIFEST).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def distrust_saved(self) -> None:
        """Let the next :meth:`checkpoint` replace the manifest now on disk whatever its seq.

        For a checkpoint found damaged, or ahead of the database
        (:meth:`VectorUpkeep.open`): left in place, its seq would make
        the next checkpoint think it is already saved. A manifest another
        process writes afterwards is a new file and is trusted again.
        """
        self._distrusted = self._manifest_id()

    def _saved_seq(self) -> int | None:
        """``applied_seq`` of the checkpoint on disk, if there is a sound one for this model/dim."""
        try:
            manifest = read_manifest(self.directory)
        except CheckpointDamaged:
            return None  # damaged: the checkpoint being written replaces it
        if manifest is None or (manifest.version, manifest.model, manifest.dim) != (
            INDEX_FORMAT,
            self.model,
            self.dim,
        ):
            return None
        return manifest.applied_seq

    def checkpoint(self) -> int:
        """Save every namespace index and the manifest atomically; returns the saved seq.

        Processes sharing the directory (daemon, CLI, a second writer) take
        turns under an exclusive file lock, and a checkpoint never replaces a
        more recent one: if the saved checkpoint is at least as recent as this
        index, nothing is written and its ``applied_seq`` is returned.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with checkpoint_lock(self.directory), self._lock:
            saved = None if self._manifest_id() == self._distrusted else self._saved_seq()
            if saved is not None and saved >= self.applied_seq:
                if saved == self.applied_seq:
                    self._dirty = False
                return saved
            for leftover in self.directory.glob("*.tmp"):  # from a killed checkpoint
                leftover.unlink(missing_ok=True)
            while self._staged:  # the files hold everything applied_seq covers
                self.drain(len(self._staged))
            for namespace in sorted(self._unscrubbed & set(self._indexes)):
                self._indexes[namespace] = scrub_free_slots(self._indexes[namespace], self._new)
            self._unscrubbed.clear()
            files: dict[str, FileEntry] = {}
            for namespace, index in self._indexes.items():
                name = _file_name(namespace, self.applied_seq)
                tmp = self.directory / (name + ".tmp")
                save_replace(tmp, self.directory / name, index.save)
                # Checksummed before the manifest names it: the renamed file has these bytes.
                final = self.directory / name
                files[namespace] = FileEntry(
                    name, final.stat().st_size, file_crc32(final), len(index)
                )
            text = manifest_text(
                Manifest(INDEX_FORMAT, self.model, self.dim, self.applied_seq, files, True),
                HNSW_PARAMS,
            )
            save_replace(
                self.directory / (MANIFEST + ".tmp"),
                self.directory / MANIFEST,
                lambda path: Path(path).write_text(text, "utf-8"),
            )
            self._dirty = False
            self._distrusted = None
            seq = self.applied_seq
            names = {entry.name for entry in files.values()}
            for stale in self.directory.glob("*.usearch"):
                if stale.name not in names:
                    stale.unlink()
        return seq

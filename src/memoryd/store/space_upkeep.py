"""The store's side of a full disk (``store.space``): ending an outage, checkpoints at close (R5).

While the disk is full, writes fail with ``StorageFull`` and
``ConnectionPool.full_since`` records when the outage began. The storage
worker (:class:`memoryd.workers.Workers`) calls :meth:`SpaceUpkeep.upkeep`
every ``Settings.disk_recheck_interval_s`` seconds; once space returns it
remakes the space reserve and checkpoints the WAL. Writes themselves never
wait for it: each one simply tries again (or, while the reserve is released,
asks the reserve whether it can be made again).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from memoryd.errors import MemorydError
from memoryd.store.connection import ConnectionPool

__all__ = ["CLOSE_WAIT_MS", "SpaceUpkeep"]

log = logging.getLogger("memoryd.store")
#: Longest wait for readers of other processes in the WAL checkpoint at close, in milliseconds.
CLOSE_WAIT_MS = 1000


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


@dataclass(eq=False)
class SpaceUpkeep:
    """Outage recovery and close-time checkpoints of a store (space reserve: ``pool.reserve``)."""

    pool: ConnectionPool

    @property
    def wal_path(self) -> Path:
        """``<db>-wal``, the write-ahead log."""
        return Path(f"{self.pool.path}-wal")

    def upkeep(self) -> bool:
        """After writes were refused for space, end the outage once space returns.

        First checkpoints the WAL (``TRUNCATE``, not waiting for readers): the
        ``-wal`` file grown before the disk filled is often what holds the
        space. Then remakes the space reserve if it was given up. Without an
        outage it only makes a missing reserve when there is room.

        Returns:
            ``True`` when an outage ended (WAL checkpointed, reserve held again).

        Raises:
            StorageFull: the checkpoint could not grow the database file yet.
        """
        reserve = self.pool.reserve
        since = self.pool.full_since
        if since is None and (reserve is None or reserve.state != "released"):
            if reserve is not None:
                reserve.ensure()
            return False
        before = _size(self.wal_path)
        checkpointed = self.pool.checkpoint_wal("TRUNCATE")
        if reserve is not None:
            reserve.ensure()
            if reserve.state == "released":
                return False  # less than twice its size free yet
        if not checkpointed:
            return False  # a reader of another process holds the WAL: next time
        self.pool.full_since = None
        log.warning(
            "disk space returned: writes resume",
            extra={
                "outage_s": None if since is None else round(time.monotonic() - since, 3),
                "wal_bytes_before": before,
                "wal_bytes_after": _size(self.wal_path),
            },
        )
        return True

    def checkpoint_wal_at_close(self) -> bool:
        """``TRUNCATE`` checkpoint at close, waiting up to :data:`CLOSE_WAIT_MS` for readers."""
        return self.pool.checkpoint_wal("TRUNCATE", wait_ms=CLOSE_WAIT_MS)

    def optimize(self) -> None:
        """``PRAGMA optimize``: refresh the planner statistics (https://sqlite.org/pragma.html#pragma_optimize)."""
        with self.pool.write_lock:
            try:
                self.pool.writer.execute("PRAGMA optimize")
            except sqlite3.Error as exc:
                raise self.pool.writer_failed(exc) from exc

    def at_close(self, what: str, step: Callable[[], object]) -> None:
        """Run one close-time step; a failure (a full disk) is logged and the close goes on."""
        try:
            step()
        except MemorydError as exc:
            log.warning("%s at close failed: %s", what, exc, extra={"code": exc.code})

"""The store's corruption detection (``store.integrity``): at open, on reads, on demand.

* **Before SQLite opens the file** the ``-wal`` header is checked
  (:func:`~memoryd.store.integrity.wal_header_damage`); a damaged one trips
  the latch and the pool opens read-only, so not even SQLite's checkpoint at
  close rewrites the files (the damaged WAL stays for a restore).
* **At open** (long-lived engines) ``PRAGMA quick_check`` runs in a thread;
  the engine waits for it at most ``integrity_open_check_budget_s`` seconds
  (:meth:`IntegrityUpkeep.await_open_check`), so start-up stays fast on
  big stores while a small store is checked before it is served. A check
  that outlasts the budget finishes in the background and trips the latch
  if it finds damage.
* **On every read** of an entry its row checksum is compared
  (:meth:`IntegrityUpkeep.intact_rows`), and a statement meeting a
  malformed page raises through the guarded connections
  (``store/health.py``): a damaged row is never served.
* **On demand** (the periodic worker, ``verify_storage``, ``memoryd storage
  verify``) :meth:`IntegrityUpkeep.verify` runs the full check.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable

from memoryd.errors import BackendUnavailable, StoreCorrupted
from memoryd.reports import IntegrityReport
from memoryd.store.connection import ConnectionPool
from memoryd.store.integrity import Verification, open_check_connection, run_verification
from memoryd.store.rows import entry_row_intact, meta_value

__all__ = ["IntegrityUpkeep"]

log = logging.getLogger("memoryd.store")


class IntegrityUpkeep:
    """The open-time check (in its own thread), row verification and full verification.

    Args:
        pool: the store's connections (``pool.health``: the store's corruption latch).
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.health = pool.health
        self._verify_lock = threading.Lock()
        self._check_conns: set[sqlite3.Connection] = set()
        self._check_thread: threading.Thread | None = None
        self._check_deadline = 0.0
        self._check_done = threading.Event()

    # --- reads --------------------------------------------------------------
    def intact_rows(self, rows: Iterable[sqlite3.Row]) -> None:
        """Compare each entry row (``ENTRY_COLUMNS``) with its checksum.

        Raises:
            StoreCorrupted: a row does not match (the latch is tripped).
        """
        for row in rows:
            if not entry_row_intact(row):
                raise self.health.mark_corrupted(
                    "checksum", f"memories rowid {row[0]} does not match its checksum"
                )

    # --- checks -------------------------------------------------------------
    def start_open_check(self, budget_s: float) -> None:
        """Start ``PRAGMA quick_check`` in a thread; :meth:`await_open_check` waits for it.

        Args:
            budget_s: longest wait, in seconds, counted from now.
        """
        self._check_deadline = time.monotonic() + budget_s
        self._check_thread = threading.Thread(
            target=self._open_check, name="memoryd-quick-check", daemon=True
        )
        self._check_thread.start()

    def _open_check(self) -> None:
        try:
            report = self.verify("quick")
        except BackendUnavailable as exc:  # interrupted by close(), or locked
            log.warning("the quick check at open did not finish: %s", exc)
        except StoreCorrupted:
            pass  # already latched and logged by the health latch
        else:
            log.info(
                "quick check at open: %s in %.3f s",
                "ok" if report.ok else "damage found",
                report.duration_s,
            )
        finally:
            self._check_done.set()

    def await_open_check(self) -> bool:
        """Wait for the open check until its budget runs out; returns whether it finished."""
        if self._check_thread is None:
            return True
        return self._check_done.wait(max(0.0, self._check_deadline - time.monotonic()))

    def wait_open_check(self, timeout_s: float | None = None) -> bool:
        """Wait for the open check to finish (``timeout_s`` seconds at most, ``None``: no limit).

        Returns whether it finished (true when none was started).
        """
        if self._check_thread is None:
            return True
        return self._check_done.wait(timeout_s)

    def verify(self, mode: str = "full") -> IntegrityReport:
        """Verify the store file now (``quick`` or ``full``, see ``store/integrity.py``).

        One verification runs at a time per store; the result becomes
        ``health.last_report``, and damage trips the latch. FTS5's
        ``integrity-check`` runs in a rolled-back write transaction of the
        writer connection (this process's writes wait for it meanwhile); on a
        read-only store it is skipped.

        Raises:
            BackendUnavailable: interrupted by :meth:`stop`, or the
                store stayed locked beyond the busy timeout.
        """
        with self._verify_lock:
            self.health.checking = True
            conn = open_check_connection(
                self.pool.path, busy_timeout_s=self.pool.pragmas.busy_timeout_ms / 1000
            )
            self._check_conns.add(conn)
            try:
                fts = None if self.pool.read_only_file else self.pool.rolled_back
                report = run_verification(Verification(self.pool.path, conn, fts), mode)
            finally:
                self._check_conns.discard(conn)
                conn.close()
                self.health.checking = False
            self.health.last_report = report
        if not report.ok:
            first = report.problems[0]
            self.health.mark_corrupted(first.check, first.detail)
        return report

    def last_full_check(self) -> float | None:
        """Unix seconds of the last full check that passed, as recorded in ``meta``."""
        value = meta_value(self.pool.reader(), "integrity_checked_at")
        return None if value is None else float(value)

    def record_full_check(self, report: IntegrityReport) -> None:
        """Record a passed full check in ``meta`` (the schedule of the periodic check uses it)."""
        if (
            report.ok
            and report.mode == "full"
            and not self.pool.read_only_file
            and not self.health.corrupted
        ):
            with self.pool.write() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('integrity_checked_at', ?)",
                    (repr(report.checked_at.timestamp()),),
                )

    def stop(self) -> None:
        """Interrupt a running check and wait for the open check's thread (before closing)."""
        for conn in list(self._check_conns):
            conn.interrupt()
        if self.health.checking and not self.pool.read_only_file:
            self.pool.writer.interrupt()  # FTS5's integrity-check, if it is the one running
        thread = self._check_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

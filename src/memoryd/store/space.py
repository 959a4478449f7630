"""Disk space: telling a full disk from other failures, a space reserve, atomic small files.

A full disk must not stop memoryd from starting or serving reads, and writes
must resume without a restart once space returns (RELIABILITY.md R5):

* :func:`out_of_space` decides whether a failure means "no space left": an
  ``OSError`` with ``ENOSPC``/``EDQUOT``; SQLite's ``SQLITE_FULL`` (which
  SQLite's unix VFS returns when ``write()`` fails with ``ENOSPC``, and for
  ``PRAGMA max_page_count``); or one of the SQLite I/O errors a full disk
  also causes (a failed write, truncate or fsync, a ``-shm`` file that cannot
  grow: :data:`SPACE_IOERRS`) while the filesystem has less than
  :data:`NEARLY_FULL_BYTES` free. Python's ``sqlite3`` does not expose the
  errno behind an I/O error (``sqlite3_system_errno``), so the free space is
  what tells ENOSPC from a failing device.
* :class:`SpaceReserve` keeps ``<data_dir>/space-reserve``, a preallocated
  file held back for start-up on a full disk (the ``-shm`` file SQLite must
  create to open the store, ``daemon.json``, the token, the pid file). When
  one of those fails for lack of space, the reserve is released (truncated to
  0 bytes, which also marks the outage) and the step retried. While the
  reserve is released, writes to the store are refused with ``StorageFull``
  so that rows never eat the space the next start needs; they resume by
  themselves as soon as the reserve can be made again (free space of twice
  its size). The same idea as CockroachDB's ``EMERGENCY_BALLAST`` file.
* :func:`write_atomic` writes a small file through a temporary sibling,
  fsync and rename, and removes the temporary file on every failure.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from memoryd.errors import StorageFull
from memoryd.paths import fsync_dir

if TYPE_CHECKING:
    from memoryd.config import Settings

__all__ = [
    "NEARLY_FULL_BYTES",
    "FullDiskNotice",
    "SPACE_IOERRS",
    "SpaceReserve",
    "free_bytes",
    "out_of_space",
    "storage_full",
    "write_atomic",
]

log = logging.getLogger("memoryd.store")
T = TypeVar("T")

#: Free space (bytes) below which an I/O error of :data:`SPACE_IOERRS` counts as a
#: full disk. A write that failed for space has itself used up what was left, so
#: a filesystem that still has 1 MiB free failed for another reason.
NEARLY_FULL_BYTES = 1 << 20
#: SQLite extended result codes a full disk produces besides ``SQLITE_FULL``
#: (https://sqlite.org/rescode.html): a short write of another kind, a failed
#: ``ftruncate``/``fsync``, a ``-shm`` file that cannot grow.
SPACE_IOERRS = frozenset(
    {"SQLITE_IOERR_WRITE", "SQLITE_IOERR_TRUNCATE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_SHMSIZE"}
)
_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def free_bytes(path: Path) -> int:
    """Bytes this process may still write on the filesystem holding ``path``.

    ``f_bavail`` for ordinary users; ``f_bfree`` for root, which may also use
    the blocks ext4 reserves for it. The nearest existing parent is asked when
    ``path`` does not exist yet.
    """
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    st = os.statvfs(probe)
    blocks = st.f_bfree if os.geteuid() == 0 else st.f_bavail
    return int(blocks * st.f_frsize)


def out_of_space(exc: BaseException, path: Path) -> bool:
    """Whether ``exc`` (or an exception it was raised from) means the disk of ``path`` is full."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, StorageFull):
            return True
        if isinstance(seen, OSError) and seen.errno in _SPACE_ERRNOS:
            return True
        if isinstance(seen, sqlite3.Error):
            name = getattr(seen, "sqlite_errorname", "")
            if name == "SQLITE_FULL":
                return True
            if name in SPACE_IOERRS:
                return free_bytes(path) < NEARLY_FULL_BYTES
        seen = seen.__cause__ or seen.__context__
    return False


def storage_full(path: Path, what: str = "the store") -> StorageFull:
    """The ``StorageFull`` error for ``path``, with the free space in ``details`` (bytes)."""
    free = free_bytes(path)
    cause = (
        f"the disk holding {path} is full ({free} bytes free)"
        if free < NEARLY_FULL_BYTES
        else f"{path} reached its size limit (PRAGMA max_page_count or a quota)"
    )
    return StorageFull(
        f"{what} cannot be written: {cause}; reads still work, writes resume once space is freed",
        path=str(path),
        free_bytes=free,
    )


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600, replace: bool = True) -> bool:
    """Write ``data`` to ``path`` atomically: ``.<name>.<pid>.tmp``, fsync, rename.

    Args:
        path: the final file; its folder must exist.
        data: the whole content.
        mode: permission bits of the new file (set with ``fchmod``, so the
            umask cannot widen or narrow them).
        replace: ``False`` links the temporary file into place instead, so an
            existing ``path`` (another process was first) is kept.

    Returns:
        ``True`` when ``path`` now holds ``data``; ``False`` when ``replace`` is
        false and ``path`` already existed.

    Raises:
        OSError: the write, fsync or rename failed (``ENOSPC`` on a full disk);
            the temporary file is removed first.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


ReserveState = Literal["off", "absent", "held", "released"]


class SpaceReserve:
    """A preallocated file of ``size`` bytes, given up so memoryd can start on a full disk.

    States (the file is the state, shared by every process on the data dir):
    ``absent`` (never made: writes are not held back), ``held`` (``size``
    bytes allocated, or fewer after the setting was raised), ``released`` (0
    bytes: given up during an outage; writes are refused until it can be made
    again). ``size == 0`` turns it ``off``.

    Args:
        path: the reserve file, normally ``<data_dir>/space-reserve``.
        size: bytes to hold back (``Settings.disk_reserve_bytes``).

    Example: ``SpaceReserve(Path("/data/space-reserve"), 1 << 20).ensure()``.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings) -> SpaceReserve:
        """The reserve of ``settings.data_dir`` (``disk_reserve_bytes`` bytes)."""
        return cls(settings.reserve_file, settings.disk_reserve_bytes)

    @property
    def state(self) -> ReserveState:
        """``off``, ``absent``, ``held`` or ``released`` (see the class doc).

        A reserve smaller than ``size`` (the setting was raised) is ``held``:
        :meth:`ensure` grows it when there is room, and writes go on meanwhile.
        """
        if self.size <= 0:
            return "off"
        try:
            allocated = self.path.stat().st_size
        except FileNotFoundError:
            return "absent"
        return "held" if allocated > 0 else "released"

    def _allocated(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def ensure(self) -> bool:
        """Make (remake, grow) the reserve if twice its size is free; ``True`` once it is held.

        Never takes the last free space: with less than ``2 * size`` bytes free
        it stays as it is (absent, released or smaller than ``size``).
        """
        with self._lock:
            state = self.state
            if state == "off" or (state == "held" and self._allocated() >= self.size):
                return state == "held"
            if free_bytes(self.path) < 2 * self.size:
                return state == "held"
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                if out_of_space(exc, self.path):
                    return False
                raise
            try:
                os.posix_fallocate(fd, 0, self.size)
                os.fsync(fd)
            except OSError as exc:
                if state != "held":
                    os.ftruncate(fd, 0)  # never hold half a reserve
                if state == "absent":
                    self.path.unlink(missing_ok=True)
                if out_of_space(exc, self.path):
                    return state == "held"
                raise
            finally:
                os.close(fd)
        if state == "released":
            log.warning(
                "disk space returned: the space reserve is restored and writes resume",
                extra={"path": str(self.path), "reserve_bytes": self.size},
            )
        return True

    def release(self) -> bool:
        """Give the reserved space back to the filesystem; ``True`` if it held any."""
        with self._lock:
            if self.state != "held":
                return False
            os.truncate(self.path, 0)  # the empty file marks the outage for every process
        log.warning(
            "the disk is full: released the space reserve so memoryd can start and serve "
            "reads; writes are refused until twice its size is free",
            extra={"path": str(self.path), "reserve_bytes": self.size},
        )
        return True

    def check_writable(self) -> None:
        """Refuse a write while the reserve is released and cannot be made again.

        Raises:
            StorageFull: the reserve was given up in this outage and less than
                twice its size is free.
        """
        if self.state == "released" and not self.ensure():
            raise storage_full(self.path.parent, "the store")

    def call(self, step: Callable[[], T], path: Path) -> T:
        """Run ``step``; if it fails for lack of space, release the reserve and run it once more.

        Args:
            step: the start-up step (open the store, write ``daemon.json``...).
            path: the file it writes (to tell a full disk from other failures).

        Raises:
            whatever ``step`` raises when it fails again, or for another reason.
        """
        try:
            return step()
        except (OSError, sqlite3.Error, StorageFull) as exc:
            if not out_of_space(exc, path) or not self.release():
                raise
        return step()


class FullDiskNotice:
    """Logs the failures of a repeated task for lack of space once per outage, and its end.

    A background task on a full disk fails at every interval; one warning when
    the outage begins and one line when the task works again say everything
    a traceback per interval would, without filling the log (or the disk).

    Args:
        task: what is failing, for the log (``"worker index-checkpoint"``).
    """

    def __init__(self, task: str) -> None:
        self.task = task
        self.active = False

    def failed(self, exc: StorageFull) -> None:
        """The task failed for lack of space (logged only when an outage begins)."""
        if not self.active:
            self.active = True
            log.warning(
                "%s: the disk is full (%s); retrying until space returns",
                self.task,
                exc,
                extra={"code": exc.code},
            )

    def succeeded(self) -> None:
        """The task worked (ends the outage, logged once)."""
        if self.active:
            self.active = False
            log.info("%s works again: disk space returned", self.task)

"""Who holds an embedding-queue lease, and whether that process still lives.

The backfill worker leases a batch of ``embedding_queue`` rows before
embedding it (``store/embedding_queue.py``) so that the workers of several
processes on one store embed different rows. A lease runs for
``backfill_lease_s`` (50 s with the default provider timeout): long enough
for a remote provider's retries. A process killed while holding one (kill -9,
OOM, power cut) used to hide its rows from vector search for that long after
a restart, although nothing was lost (RELIABILITY.md R1 through HTTP).

So each lease names its holder (``embedding_queue.leased_by``, migration 10):
a random id for the life of one :class:`LeaseHolder`, which holds an
exclusive ``flock`` on ``<data_dir>/leases/<id>.lock`` until it closes. The
kernel releases an ``flock`` when its process dies, so a worker that can take
the lock of a holder knows the holder is gone and takes its rows at once
(:func:`holder_alive`); the lock file is then removed. A lease of a live
holder is respected until it runs out, as before.

Where the lock file cannot be made (a full disk, a read-only folder, no
``fcntl`` on Windows) the holder has no id: its leases name nobody and run
out as they always did. Nothing here is needed for correctness: a row
embedded twice is still filled once, with its current text.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import IO

__all__ = ["LeaseHolder", "holder_alive"]

log = logging.getLogger("memoryd.store")

#: Folder of the holders' lock files, inside the data dir.
LEASES_DIR = "leases"


def _lock_path(directory: Path, holder: str) -> Path | None:
    """``<directory>/<holder>.lock``, or ``None`` for an id that is not a hex UUID."""
    try:
        return directory / f"{uuid.UUID(hex=holder).hex}.lock"
    except ValueError:
        return None  # not an id this module wrote: never a path of the caller's choosing


class LeaseHolder:
    """This process's lease-holder id, alive while its lock file is locked.

    Args:
        directory: the lock files' folder (``<data_dir>/leases``), created if missing.

    ``id`` is a 32-hex-digit UUID4, or ``None`` when the lock file could not be
    made (then leases carry no holder and simply run out).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.id: str | None = None
        self._handle: IO[bytes] | None = None
        try:
            import fcntl
        except ImportError:  # Windows: leases run out as before
            return
        holder = uuid.uuid4().hex
        path = directory / f"{holder}.lock"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handle = open(path, "wb")  # noqa: SIM115 - held (locked) until close()
        except OSError as exc:
            log.warning(
                "cannot create the lease-holder file %s (%s): leases of this process "
                "name no holder and run out after their time",
                path,
                exc,
            )
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new name: never held
        self._handle, self.id = handle, holder

    def close(self) -> None:
        """Give up the id: remove the lock file and release the lock (idempotent)."""
        if self._handle is None or self.id is None:
            return
        path = self.directory / f"{self.id}.lock"
        path.unlink(missing_ok=True)
        self._handle.close()  # releases the flock
        self._handle = None


def holder_alive(directory: Path, holder: str) -> bool:
    """True while the process holding lease-holder id ``holder`` lives.

    A holder whose lock file is gone closed or died and was already noticed;
    one whose lock can be taken died (the kernel released its ``flock``):
    its file is removed. Ids this module did not write count as dead.

    Raises:
        OSError: the lock file exists but cannot be opened or locked for
            another reason than another process holding it.
    """
    try:
        import fcntl
    except ImportError:
        return True  # no flock: only the lease's time says
    path = _lock_path(directory, holder)
    if path is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        path.unlink(missing_ok=True)
        return False
    finally:
        os.close(fd)

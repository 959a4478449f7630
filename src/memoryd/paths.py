"""One path policy for every path memoryd is given (RELIABILITY.md S8).

Two kinds of paths reach memoryd:

* **Caller-supplied paths**, relative to a root the operator allowlisted
  (a file inside a folder registered as a collection, asked for over MCP or
  REST). :func:`resolve_within` confines them: the answer is always a path
  strictly inside the root's real path, or an :class:`~memoryd.errors.InvalidPath`
  / :class:`~memoryd.errors.PathOutsideRoot`; nothing else is raised.
* **Operator-given paths** (CLI arguments, ``MEMORYD_CONFIG``, Settings'
  ``data_dir`` ...), which may point anywhere the operator can reach but must
  be the right kind of thing: :func:`check_user_file` for a file to read,
  :func:`check_output_file` for a file to write, :func:`check_directory` for a
  folder. Each refuses with ``invalid_path`` and a stable ``reason`` in the
  details, never a traceback.

:func:`write_atomic` writes an output file under a fresh temporary name in
the target's folder and renames it over the target, so a failed write never
leaves a half file.

Symlinks: an operator-given input path may be a symlink (the operator chose
it). An output path that is a symlink is refused (``reason="symlink"``):
renaming over it would replace the link, not write where it points, and
writing through it would put the file somewhere the command line does not
name. Give the link's target instead.

Limits: a name component longer than :data:`MAX_NAME_BYTES` or a path longer
than :data:`MAX_PATH_BYTES` (UTF-8) is refused (``too_long``) before the
file system sees it.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar
from urllib.parse import unquote

from memoryd.errors import InvalidPath, PathOutsideRoot, StorageError, StorageFull

__all__ = [
    "fsync_dir",
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "check_directory",
    "check_file_path",
    "check_output_file",
    "check_user_file",
    "resolve_within",
    "write_atomic",
]

#: Longest file-name component, in UTF-8 bytes (``NAME_MAX`` of Linux and macOS, <limits.h>).
MAX_NAME_BYTES = 255
#: Longest path, in UTF-8 bytes (``PATH_MAX`` of Linux, <linux/limits.h>).
MAX_PATH_BYTES = 4096

_DRIVE = re.compile(r"^[A-Za-z]:")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
T = TypeVar("T")


def _shown(path: str) -> str:
    """The path as echoed in messages: ``repr`` when it holds control characters."""
    return repr(path) if any(ord(c) < 32 for c in path) else path


def _invalid(path: str, reason: str, purpose: str, what: str) -> InvalidPath:
    return InvalidPath(
        f"{purpose} path {_shown(path)}: {what}", path=_shown(path), purpose=purpose, reason=reason
    )


def _check_text(path: str, purpose: str) -> bytes:
    """NUL, encodability and length checks shared by every kind of path; returns the bytes."""
    if not path:
        raise _invalid(path, "empty", purpose, "the path is empty")
    if "\x00" in path:
        raise _invalid(path, "nul_byte", purpose, "the path contains a NUL byte")
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise _invalid(path, "not_encodable", purpose, "the path is not valid text") from exc
    if len(raw) > MAX_PATH_BYTES:
        raise _invalid(path, "too_long", purpose, f"longer than {MAX_PATH_BYTES} bytes")
    if any(len(part) > MAX_NAME_BYTES for part in raw.split(b"/")):
        raise _invalid(path, "too_long", purpose, f"a name is longer than {MAX_NAME_BYTES} bytes")
    return raw


def _inside(path: Path, root: Path) -> bool:
    return path != root and root in path.parents


def resolve_within(root: Path, user_path: str, *, from_url: bool = False) -> Path:
    """The real path of ``user_path`` inside ``root``; never a path outside it.

    Args:
        root: the allowlisted folder (must exist; operator-configured).
        user_path: a relative path from a caller, ``/``-separated (``\\`` is a
            separator too, on every platform, so ``..\\x`` cannot slip through).
        from_url: ``user_path`` is a raw URL component: it is percent-decoded
            once here (strict UTF-8), and any ``%XX`` escape left after that
            (double encoding, ``%252e%252e``) is refused.

    Returns:
        The resolved path (symlinks followed), strictly inside ``root.resolve()``.
        It may not exist yet (only its existing prefix is resolved).

    Raises:
        InvalidPath: empty (or naming the root itself), NUL byte, not valid
            text, absolute (``/x``, ``C:x``), too long, a leftover percent
            escape (``from_url``), a symlink loop, or ``root`` is not a folder.
        PathOutsideRoot: ``..`` leads above the root after normalization, or a
            symlink on the way resolves outside it.

    A symlink swapped in after this call returns is outside its reach: open
    the returned path at once (its symlinks are already resolved).
    """
    purpose = "requested"
    if not isinstance(user_path, str):
        raise InvalidPath("the path must be a string", purpose=purpose, reason="not_text")
    text = user_path
    if from_url:
        if "\x00" in text:
            raise _invalid(text, "nul_byte", purpose, "the path contains a NUL byte")
        try:
            text = unquote(text, errors="strict")
        except UnicodeDecodeError as exc:
            raise _invalid(user_path, "not_encodable", purpose, "not UTF-8 once decoded") from exc
        if _ESCAPE.search(text):
            raise _invalid(user_path, "encoded_traversal", purpose, "percent-encoded twice")
    _check_text(text, purpose)
    text = text.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise _invalid(user_path, "absolute", purpose, "must be relative to its root")
    normal = posixpath.normpath(text)  # "a/./b//../c" -> "a/c"; leading ".." parts are kept
    if normal == ".." or normal.startswith("../"):
        raise PathOutsideRoot(
            f"{purpose} path {_shown(user_path)}: leads outside its root",
            path=_shown(user_path),
            reason="dot_dot",
        )
    if normal == ".":
        raise _invalid(user_path, "empty", purpose, "names no file inside its root")
    parts = normal.split("/")
    real_root = Path(os.path.realpath(root))
    if not real_root.is_dir():
        raise InvalidPath(f"the root {root} is not a folder", reason="not_directory")
    resolved = Path(os.path.realpath(real_root.joinpath(*parts)))
    if not _inside(resolved, real_root):
        raise PathOutsideRoot(
            f"{purpose} path {_shown(user_path)}: a symlink leads outside its root",
            path=_shown(user_path),
            reason="symlink_escape",
        )
    try:
        mode: int | None = os.lstat(resolved).st_mode
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise _invalid(user_path, "too_long", purpose, "too long once resolved") from exc
        mode = None  # absent (or under a file): it may be created there, inside the root
    if mode is not None and stat.S_ISLNK(mode):  # realpath stops at a loop, on the link
        raise _invalid(user_path, "symlink_loop", purpose, "a symlink loop")
    return resolved


def _stat_error(path: str, exc: OSError, purpose: str) -> InvalidPath:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return _invalid(path, "missing", purpose, "no such file")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return _invalid(path, "unreadable", purpose, "permission denied")
    if exc.errno == errno.ENAMETOOLONG:
        return _invalid(path, "too_long", purpose, "the name is too long")
    if exc.errno == errno.ELOOP:
        return _invalid(path, "symlink_loop", purpose, "a symlink loop")
    return _invalid(path, "unreadable", purpose, exc.strerror or str(exc))


def check_user_file(path: str | Path, *, purpose: str) -> Path:
    """An operator-given file to read: it exists, is a regular file and can be opened.

    Symlinks are followed (the operator named them). ``purpose`` names the
    path in messages and details (``import``, ``config`` ...).

    Raises:
        InvalidPath: ``reason`` is ``empty``, ``nul_byte``, ``too_long``,
            ``missing``, ``is_directory``, ``not_regular_file`` (FIFO, socket,
            device: reading one could block or never end), ``unreadable`` or
            ``symlink_loop``.
    """
    text = os.fspath(path)
    _check_text(text, purpose)
    try:
        mode = os.stat(text).st_mode
    except OSError as exc:
        raise _stat_error(text, exc, purpose) from exc
    if stat.S_ISDIR(mode):
        raise _invalid(text, "is_directory", purpose, "is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise _invalid(text, "not_regular_file", purpose, "is not a regular file")
    try:
        with open(text, "rb"):
            pass
    except OSError as exc:
        raise _stat_error(text, exc, purpose) from exc
    return Path(text)


def check_output_file(path: str | Path, *, purpose: str) -> Path:
    """An operator-given file to (re)write with :func:`write_atomic`.

    The target may be absent or a regular file (it is replaced); its folder
    must exist.

    Raises:
        InvalidPath: ``reason`` is ``empty``, ``nul_byte``, ``too_long``,
            ``symlink`` (see the module docstring), ``is_directory``,
            ``not_regular_file``, ``parent_missing`` or ``not_directory``
            (the parent is not a folder).
    """
    text = os.fspath(path)
    _check_text(text, purpose)
    target = Path(text)
    parent = target.parent
    try:
        mode: int | None = os.lstat(text).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError as exc:
        raise _invalid(text, "not_directory", purpose, f"{parent} is not a folder") from exc
    except OSError as exc:
        raise _stat_error(text, exc, purpose) from exc
    if mode is not None:
        if stat.S_ISLNK(mode):
            raise _invalid(text, "symlink", purpose, "is a symlink; give the file it points to")
        if stat.S_ISDIR(mode):
            raise _invalid(text, "is_directory", purpose, "is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise _invalid(text, "not_regular_file", purpose, "is not a regular file")
    try:
        parent_mode = os.stat(parent).st_mode
    except OSError as exc:
        raise _invalid(text, "parent_missing", purpose, f"its folder {parent} is missing") from exc
    if not stat.S_ISDIR(parent_mode):
        raise _invalid(text, "not_directory", purpose, f"{parent} is not a folder")
    return target


def check_directory(path: str | Path, *, purpose: str) -> Path:
    """An operator-given folder (it may not exist yet; memoryd creates it).

    Raises:
        InvalidPath: ``reason`` is ``empty``, ``nul_byte``, ``too_long`` or
            ``not_directory`` (it exists and is not a folder).
    """
    text = os.fspath(path)
    _check_text(text, purpose)
    try:
        mode = os.stat(text).st_mode
    except FileNotFoundError:
        return Path(text)
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise _invalid(text, "not_directory", purpose, "a parent is a file") from exc
        raise _stat_error(text, exc, purpose) from exc
    if not stat.S_ISDIR(mode):
        raise _invalid(text, "not_directory", purpose, "exists and is not a folder")
    return Path(text)


def check_file_path(path: str | Path, *, purpose: str) -> Path:
    """An operator-given file memoryd creates or reads later (token, log): well formed,
    and not a folder if it exists (its folder may not exist yet).

    Raises:
        InvalidPath: ``reason`` is ``empty``, ``nul_byte``, ``too_long`` or ``is_directory``.
    """
    text = os.fspath(path)
    _check_text(text, purpose)
    if os.path.isdir(text):
        raise _invalid(text, "is_directory", purpose, "is a folder, not a file")
    return Path(text)


def fsync_dir(folder: Path) -> None:
    """fsync ``folder`` itself, so a rename or a new file in it survives a power loss.

    A no-op on Windows, where folders cannot be opened for fsync.

    Raises:
        OSError: the folder cannot be opened or synced.
    """
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(target: Path, write: Callable[[IO[str]], T]) -> T:
    """Run ``write`` on a new temporary file beside ``target``, then rename it over ``target``.

    The temporary file is created with ``O_EXCL`` (mode 0600, a name no one
    can plant a symlink at in advance), fsynced, renamed, and the folder is
    fsynced, so the target holds the old content or the whole new one. On
    any failure the temporary file is removed and the target is untouched.
    Returns what ``write`` returned. Check the target first with
    :func:`check_output_file`.

    Raises:
        StorageFull: the target's disk is full.
        StorageError: the temporary file cannot be written or renamed.
        Whatever ``write`` raises (after cleaning up).
    """
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=".memoryd-", suffix=".partial")
    except OSError as exc:
        raise _write_error(target, exc) from exc
    partial = Path(name)
    try:
        with open(fd, "w", encoding="utf-8") as stream:
            result = write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, target)
        fsync_dir(target.parent)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise _write_error(target, exc) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return result


def _write_error(target: Path, exc: OSError) -> StorageError | StorageFull:
    if exc.errno == errno.ENOSPC:
        return StorageFull(f"no disk space to write {target}", path=str(target))
    return StorageError(f"cannot write {target}: {exc.strerror or exc}", path=str(target))

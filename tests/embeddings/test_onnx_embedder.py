"""OnnxEmbedder against sentence-transformers, plus shapes, order, threads and errors."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import waits
from memoryd.config import Settings
from memoryd.embeddings import (
    Embedder,
    OnnxEmbedder,
    OpenAIEmbedder,
    create_embedder,
)
from memoryd.errors import BackendUnavailable, ConfigError, ValidationError

TEXTS = [
    "hi",
    "What did Ann say about the project deadline?",
    "The quick brown fox jumps over the lazy dog.",
    "",
    "...",
    "?!",
    "   ",
    "東京は日本の首都です。",
    "北京是中国的首都，人口超过两千万。",
    "서울은 대한민국의 수도입니다.",
    "Ünïcödé çàfé naïve résumé — “quotes” and ‘apostrophes’",
    "emoji 🎉🚀 party 🥳",
    "Привет, как дела? Всё хорошо.",
    "مرحبا بالعالم",
    "SELECT * FROM memories WHERE namespace = 'default';",
    "def f(x):\n    return x ** 2\n",
    "a " * 400,  # > 256 tokens: truncated
    " ".join(f"word{i}" for i in range(600)),  # far beyond 256 tokens
    "The meeting moved to Thursday at 3 pm; bring the Q3 numbers. " * 30,
    "x",
    "user prefers dark mode and vim keybindings",
]


@pytest.fixture(scope="module")
def reference(source_dir: Path) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source_dir), device="cpu")
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True), dtype=np.float32)


def test_matches_sentence_transformers(onnx_embedder: OnnxEmbedder, reference: np.ndarray) -> None:
    got = onnx_embedder.embed(TEXTS)
    cosine = (got * reference).sum(axis=1)
    assert cosine.min() >= 0.9999, dict(zip(TEXTS, cosine.tolist(), strict=True))


def test_shape_dtype_and_unit_rows(onnx_embedder: OnnxEmbedder) -> None:
    assert isinstance(onnx_embedder, Embedder)
    assert (onnx_embedder.model, onnx_embedder.dim) == ("all-MiniLM-L6-v2", 384)
    out = onnx_embedder.embed(TEXTS)
    assert out.shape == (len(TEXTS), 384) and out.dtype == np.float32
    assert out.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    empty = onnx_embedder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_order_is_preserved_across_sorted_batches(onnx_embedder: OnnxEmbedder) -> None:
    assert onnx_embedder.batch_size == 4  # several batches, reordered by length inside
    together = onnx_embedder.embed(TEXTS)
    singles = np.stack([onnx_embedder.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, singles, atol=1e-5)
    reversed_ = onnx_embedder.embed(TEXTS[::-1])
    np.testing.assert_allclose(reversed_[::-1], together, atol=1e-5)
    dup = onnx_embedder.embed(["same", "other", "same"])
    np.testing.assert_allclose(dup[0], dup[2], atol=1e-6)


def test_long_texts_are_truncated_to_256_tokens(onnx_embedder: OnnxEmbedder) -> None:
    base = " ".join(f"word{i}" for i in range(600))
    longer = base + " completely different ending about volcanoes"
    a, b = onnx_embedder.embed([base, longer])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the tail beyond 256 tokens is ignored


def test_similar_texts_score_higher(onnx_embedder: OnnxEmbedder) -> None:
    q, near, far = onnx_embedder.embed(
        ["what pet does Ann have", "Ann owns a cat named Milo", "the stock market fell today"]
    )
    assert float(q @ near) > float(q @ far) + 0.2


def test_lazy_thread_safe_load_and_concurrent_embed(onnx_settings: Settings) -> None:
    embedder = OnnxEmbedder(onnx_settings, export=False)
    assert not embedder.loaded
    start = threading.Barrier(4)

    def work(_: int) -> np.ndarray:
        start.wait()
        return embedder.embed(TEXTS)  # the first calls race to load the session

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4), timeout=waits.budget(60)))
    assert embedder.loaded
    for i in range(1, 4):
        np.testing.assert_array_equal(results[i], results[0])
    embedder.close()
    embedder.close()  # idempotent
    assert not embedder.loaded
    np.testing.assert_array_equal(embedder.embed(TEXTS), results[0])  # reloads lazily
    embedder.close()


def test_warmup_loads_eagerly_and_is_fast(onnx_settings: Settings) -> None:
    embedder = OnnxEmbedder(onnx_settings, export=False)
    t0 = time.perf_counter()
    embedder.warmup()
    load_s = time.perf_counter() - t0
    assert embedder.loaded
    assert embedder.manifest is not None and embedder.manifest["dim"] == 384
    t0 = time.perf_counter()
    for _ in range(20):
        embedder.embed(["what did Ann say about the deadline?"])
    per_query_ms = (time.perf_counter() - t0) / 20 * 1000
    embedder.close()
    print(f"\nload {load_s:.3f} s, {per_query_ms:.1f} ms per single query")
    assert load_s < 10 and per_query_ms < 500  # generous: shared CI machines


def test_bad_input_is_a_validation_error(onnx_embedder: OnnxEmbedder) -> None:
    with pytest.raises(ValidationError):
        onnx_embedder.embed("a bare string")
    with pytest.raises(ValidationError):
        onnx_embedder.embed(["ok", 3])  # type: ignore[list-item]


def test_missing_export_without_permission_to_export(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, model_cache_dir=tmp_path / "empty")
    embedder = OnnxEmbedder(settings, export=False)
    with pytest.raises(BackendUnavailable, match="no exported model"):
        embedder.embed(["x"])
    assert embedder.embed([]).shape == (0, 384)  # no model needed for nothing


def test_create_embedder(onnx_settings: Settings, tmp_path: Path) -> None:
    local = create_embedder(onnx_settings)
    assert isinstance(local, OnnxEmbedder) and not local.loaded
    remote = create_embedder(
        Settings(data_dir=tmp_path, embedding_provider="openai", embedding_model="m")
    )
    assert isinstance(remote, OpenAIEmbedder) and remote.model == "m"
    remote.close()
    with pytest.raises(ConfigError, match="only ships"):
        create_embedder(Settings(data_dir=tmp_path, embedding_model="bge-small"))
    with pytest.raises(ConfigError, match="dim"):
        create_embedder(Settings(data_dir=tmp_path, embedding_dim=768))


def test_importing_the_package_does_not_import_torch() -> None:
    code = (
        "import sys, memoryd.embeddings; "
        "heavy = ('torch', 'transformers', 'sentence_transformers'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=waits.budget(60),
    )
    assert out.stdout.strip() == "[]"

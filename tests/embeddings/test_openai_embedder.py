"""OpenAIEmbedder against a real HTTP server on a loopback port (see conftest.FakeProvider)."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import waits
from memoryd.config import Settings
from memoryd.embeddings import Embedder, OpenAIEmbedder
from memoryd.embeddings.openai import PROBE_TEXT
from memoryd.errors import (
    BackendUnavailable,
    DimensionMismatch,
    Timeout,
    ValidationError,
)

if TYPE_CHECKING:
    from conftest import FakeProvider  # the fixture's type only; no runtime import

SECRET = "sk-test-super-secret-key"


def _embedder(tmp_path: Path, url: str, **overrides: Any) -> OpenAIEmbedder:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "embedding_provider": "openai",
        "embedding_model": "text-embedding-3-small",
        "embedding_base_url": url,
        "embedding_api_key": SECRET,
        "embedding_timeout_s": 2.0,
    }
    return OpenAIEmbedder(Settings(**(values | overrides)))


def test_success_normalises_and_keeps_order(provider: FakeProvider, tmp_path: Path) -> None:
    emb = _embedder(tmp_path, provider.url, embedding_dim=8, embedding_batch_size=2)
    assert isinstance(emb, Embedder)
    texts = ["alpha", "beta", "gamma", "delta", "epsilon"]
    out = emb.embed(texts)
    assert out.shape == (5, 8) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out, np.stack([provider.unit(t, 8) for t in texts]), atol=1e-6)
    assert [r["body"]["input"] for r in provider.requests] == [
        ["alpha", "beta"],
        ["gamma", "delta"],
        ["epsilon"],
    ]
    assert {r["body"]["model"] for r in provider.requests} == {"text-embedding-3-small"}
    assert {r["path"] for r in provider.requests} == {"/v1/embeddings"}
    assert {r["auth"] for r in provider.requests} == {f"Bearer {SECRET}"}
    assert len({r["client_port"] for r in provider.requests}) == 1  # one keep-alive connection
    assert emb.embed([]).shape == (0, 8)
    emb.close()
    emb.close()


def test_dimension_is_probed_once(provider: FakeProvider, tmp_path: Path) -> None:
    provider.dim = 12
    emb = _embedder(tmp_path, provider.url)
    assert emb.dim == 12
    assert [r["body"]["input"] for r in provider.requests] == [[PROBE_TEXT]]
    assert emb.embed(["x"]).shape == (1, 12)
    assert emb.dim == 12
    assert len(provider.requests) == 2
    emb.close()


def test_dimension_learnt_from_first_embed(provider: FakeProvider, tmp_path: Path) -> None:
    emb = _embedder(tmp_path, provider.url)
    assert emb.embed(["x", "y"]).shape == (2, 8)
    assert emb.dim == 8 and len(provider.requests) == 1  # no extra probe
    emb.close()


def test_configured_dimension_is_enforced(provider: FakeProvider, tmp_path: Path) -> None:
    emb = _embedder(tmp_path, provider.url, embedding_dim=16)
    assert emb.dim == 16 and provider.requests == []  # configured: no probe
    with pytest.raises(DimensionMismatch):
        emb.embed(["x"])
    emb.close()


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_errors_are_retried(
    provider: FakeProvider, tmp_path: Path, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    provider.script = [(status, {"error": {"message": "busy"}})]
    emb = _embedder(tmp_path, provider.url, embedding_dim=8)
    with caplog.at_level(logging.WARNING, logger="memoryd.embeddings.openai"):
        out = emb.embed(["retry me"])
    np.testing.assert_allclose(out[0], provider.unit("retry me", 8), atol=1e-6)
    assert len(provider.requests) == 2
    assert "retry 1/2" in caplog.text
    assert SECRET not in caplog.text
    emb.close()


def test_persistent_5xx_gives_up_after_three_attempts(
    provider: FakeProvider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    provider.script = [(500, {"error": {"message": "model crashed"}})] * 5
    emb = _embedder(tmp_path, provider.url, embedding_dim=8)
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendUnavailable) as info:
        emb.embed(["x"])
    assert "model crashed" in info.value.message and info.value.details["status"] == 500
    assert len(provider.requests) == 3
    assert SECRET not in caplog.text and SECRET not in str(info.value.to_dict())
    emb.close()


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_not_retried(provider: FakeProvider, tmp_path: Path, status: int) -> None:
    provider.script = [(status, {"error": {"message": f"bad thing {status}", "type": "x"}})]
    emb = _embedder(tmp_path, provider.url, embedding_dim=8)
    with pytest.raises(ValidationError, match=f"bad thing {status}") as info:
        emb.embed(["x"])
    assert info.value.details["status"] == status
    assert len(provider.requests) == 1
    assert SECRET not in str(info.value.to_dict())
    emb.close()


def test_ollama_style_error_body(provider: FakeProvider, tmp_path: Path) -> None:
    provider.script = [(400, {"error": 'model "nomic" not found, try pulling it first'})]
    emb = _embedder(tmp_path, provider.url, embedding_dim=8)
    with pytest.raises(ValidationError, match="try pulling it first"):
        emb.embed(["x"])
    emb.close()


def test_malformed_answer(provider: FakeProvider, tmp_path: Path) -> None:
    provider.script = [(200, {"unexpected": True}), (200, {"data": [{"embedding": [1.0]}] * 3})]
    emb = _embedder(tmp_path, provider.url)
    with pytest.raises(BackendUnavailable, match="malformed"):
        emb.embed(["x"])
    with pytest.raises(BackendUnavailable, match="shape"):
        emb.embed(["x"])
    emb.close()


def test_server_that_never_answers_times_out(provider: FakeProvider, tmp_path: Path) -> None:
    provider.script = ["hang"] * 5
    emb = _embedder(tmp_path, provider.url, embedding_dim=8, embedding_timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(Timeout) as info:
        emb.embed(["x"])
    elapsed = time.monotonic() - start
    assert 0.4 <= elapsed < 0.5 + waits.budget(1.0), elapsed  # the timeout bounds the call
    assert info.value.details["timeout_s"] == 0.5
    emb.close()


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free now; nobody listens after the close
    emb = _embedder(tmp_path, f"http://127.0.0.1:{port}/v1", embedding_dim=8)
    start = time.monotonic()
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        emb.embed(["x"])
    assert time.monotonic() - start < 2.0
    emb.close()


def test_repr_and_errors_hide_credentials(tmp_path: Path) -> None:
    emb = _embedder(tmp_path, "http://user:pw-in-url@127.0.0.1:9/v1", embedding_dim=8)
    assert "pw-in-url" not in repr(emb) and SECRET not in repr(emb)
    with pytest.raises(BackendUnavailable) as info:
        emb.embed(["x"])
    assert "pw-in-url" not in str(info.value.to_dict())
    emb.close()

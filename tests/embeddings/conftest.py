"""Fixtures for the embedding tests: one real ONNX export per run and a fake HTTP provider.

The export goes into a session tmp dir (not the shared model cache), so the export tests
see a folder this run created. The fake provider is a real ``ThreadingHTTPServer`` on a
free loopback port that answers like ``POST /v1/embeddings`` of the OpenAI API.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memoryd.config import Settings
from memoryd.embeddings import OnnxEmbedder
from memoryd.embeddings.onnx_export import MODEL_NAME, ExportedModel, ensure_exported


@dataclass
class ExportRun:
    model: ExportedModel
    seconds: float


@pytest.fixture(scope="session")
def export_run(tmp_path_factory: pytest.TempPathFactory) -> ExportRun:
    """A fresh export of the bundled all-MiniLM-L6-v2, done once per test session."""
    directory = tmp_path_factory.mktemp("onnx-export") / MODEL_NAME
    start = time.perf_counter()
    model = ensure_exported(directory)
    return ExportRun(model, time.perf_counter() - start)


@pytest.fixture(scope="session")
def exported_model(export_run: ExportRun) -> ExportedModel:
    return export_run.model


@pytest.fixture(scope="session")
def onnx_settings(
    exported_model: ExportedModel, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings whose ``model_dir`` holds the session export; small batches (4)."""
    return Settings(
        data_dir=tmp_path_factory.mktemp("onnx-data"),
        model_cache_dir=exported_model.directory.parent,
        embedding_batch_size=4,
    )


@pytest.fixture(scope="session")
def onnx_embedder(onnx_settings: Settings) -> Iterator[OnnxEmbedder]:
    embedder = OnnxEmbedder(onnx_settings, export=False)
    embedder.warmup()
    yield embedder
    embedder.close()


# --- fake OpenAI-compatible provider ---------------------------------------------------


def fake_vector(text: str, dim: int) -> list[float]:
    """A deterministic, *unnormalised* vector for ``text`` (scaled by 3)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [3.0 * ((digest[i % len(digest)] / 255.0) - 0.5 + 0.01 * i) for i in range(dim)]


@dataclass
class FakeProvider:
    """Scripted answers: each request pops the next action from ``script``, then ``"ok"``.

    Actions: ``"ok"``, ``"hang"`` (never answers until teardown), or ``(status, body)``.
    An ``"ok"`` request holding any text of ``reject`` is answered 400 instead.
    """

    url: str = ""
    dim: int = 8
    script: list[Any] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def settings(self, data_dir: Path) -> Settings:
        """Settings of a store in ``data_dir`` embedding through this provider (``fake-8``)."""
        return Settings(
            data_dir=data_dir,
            embedding_provider="openai",
            embedding_model="fake-8",
            embedding_base_url=self.url,
            embedding_dim=self.dim,
            embedding_timeout_s=2.0,
        )

    def unit(self, text: str, dim: int | None = None) -> Any:
        """The L2-normalised vector the server returns for ``text``."""
        vec = np.asarray(fake_vector(text, dim or self.dim), dtype=np.float32)
        return vec / np.linalg.norm(vec)

    def next_action(self, record: dict[str, Any]) -> Any:
        with self.lock:
            self.requests.append(record)
            return self.script.pop(0) if self.script else "ok"


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            record = {
                "path": self.path,
                "body": payload,
                "auth": self.headers.get("Authorization"),
                "client_port": self.client_address[1],
            }
            action = provider.next_action(record)
            if action == "hang":
                provider.release.wait(10)
                self.close_connection = True
                return
            if action != "ok":
                self._send(*action)
                return
            if self.path != "/v1/embeddings":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            texts = payload["input"]
            if provider.reject & set(texts):
                self._send(400, {"error": {"message": "input rejected by policy"}})
                return
            data = [
                {"object": "embedding", "index": i, "embedding": fake_vector(t, provider.dim)}
                for i, t in enumerate(texts)
            ]
            data.reverse()  # out of order on purpose: clients must sort by index
            self._send(200, {"object": "list", "data": data, "model": payload["model"]})

    return Handler


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    """A running fake provider on ``127.0.0.1:<free port>``; ``provider.url`` ends in /v1."""
    fake = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def source_dir() -> Path:
    from memoryd.embeddings.onnx_export import source_model_dir

    return source_model_dir()[0]

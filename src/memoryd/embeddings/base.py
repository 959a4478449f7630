"""The embedding-provider protocol.

Every provider turns a batch of texts into an ``(n, dim)`` float32 matrix
whose rows are L2-normalised (unit length), so that a dot product is the
cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder", "Vectors"]

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """A text-embedding provider.

    Attributes:
        model: stable model name recorded in the store (``"all-MiniLM-L6-v2"``).
        dim: vector dimension (384 for all-MiniLM-L6-v2).
    """

    model: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``.

        Returns:
            ``(len(texts), dim)`` float32, rows L2-normalised.

        Raises:
            BackendUnavailable: the provider cannot be reached or loaded.
            Timeout: the provider did not answer within its timeout.
        """
        ...

    def close(self) -> None:
        """Release sessions and connections (idempotent)."""
        ...

"""Fixtures of the reliability suites.

The real embedder and the session's model cache come from ``tests/conftest.py``
(``embedder``, ``model_cache_dir``: the model is exported once per session).
Child processes get the same folder as ``--model-cache`` so none exports again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memoryd import Settings


@pytest.fixture
def make_settings(model_cache_dir: Path) -> Callable[..., Settings]:
    """``make_settings(data_dir, **overrides)``: settings of a store using the shared model."""

    def make(data_dir: Path, **overrides: Any) -> Settings:
        return Settings(data_dir=data_dir, model_cache_dir=model_cache_dir, **overrides)

    return make

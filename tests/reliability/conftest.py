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

from .vfs import FaultVfs, build_library, compiler


@pytest.fixture
def make_settings(model_cache_dir: Path) -> Callable[..., Settings]:
    """``make_settings(data_dir, **overrides)``: settings of a store using the shared model."""

    def make(data_dir: Path, **overrides: Any) -> Settings:
        return Settings(data_dir=data_dir, model_cache_dir=model_cache_dir, **overrides)

    return make


@pytest.fixture(scope="session")
def faultvfs_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``faultvfs.c`` compiled once per session (``tests/reliability/vfs``)."""
    if compiler() is None:
        pytest.skip("no C compiler for the fault VFS: install gcc and libsqlite3-dev")
    return build_library(tmp_path_factory.getbasetemp() / "faultvfs")


@pytest.fixture(scope="session")
def faultvfs(faultvfs_library: Path, tmp_path_factory: pytest.TempPathFactory) -> FaultVfs:
    """The VFS loaded into the test process, registered but not the default.

    Tests make it the default around the connections they want through it
    (``with faultvfs.as_default(): ...``) and leave it passing through
    (``fail=none``, ``buffer=0``) when they are done.
    """
    vfs = FaultVfs(faultvfs_library)
    vfs.register("buffer=0;fail=none;drop=0;after=0", default=False)
    with vfs.as_default():
        vfs.check_bound(tmp_path_factory.mktemp("faultvfs-probe") / "probe.db")
    return vfs

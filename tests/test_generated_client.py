"""The generated ``Client`` (``client/operations.py``) is current, and the registry's
``custom`` marks match the requests built by hand.

Regenerating writes nothing here: the test compares ``scripts/generate_client.py``'s
output with the checked-in file and fails on any difference (run the script to fix).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from memoryd.client.custom_requests import CUSTOMIZED
from memoryd.operations import OPERATIONS, Face

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "generate_client.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_client", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_client_is_what_the_generator_writes() -> None:
    generator = _generator()
    assert generator.TARGET.read_text("utf-8") == generator.source(), (
        "client/operations.py is stale: run python scripts/generate_client.py"
    )


def test_custom_requests_are_the_operations_the_registry_marks_custom() -> None:
    marked = {
        op.name
        for op in OPERATIONS
        if op.serves(Face.CLIENT) and op.rest is not None and op.rest.custom
    }
    assert marked == set(CUSTOMIZED)
    for op in OPERATIONS:
        if op.serves(Face.CLIENT):
            assert op.rest is not None, f"{op.name}: the client speaks REST only"

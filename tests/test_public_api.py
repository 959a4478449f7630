"""The public surface: ``memoryd.__all__``, Memory/Client signature parity, TypeScript error codes.

``__all__`` is sorted and names exactly what the package exports (as httpx
tests its own); ``Memory`` and ``Client`` have the same public methods with
identical parameters (names, kinds, defaults, annotations), except the ones
listed with their reason (as uvicorn tests ``run()`` against ``Config``); the
TypeScript client has an error class for every code a daemon can answer.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import memoryd
from memoryd import Client, Memory, errors
from memoryd.operations import OPERATIONS, Face

REPO = Path(__file__).resolve().parent.parent

#: Public methods only one of the two has, and why (the registry says for Memory's).
ONLY_MEMORY = {op.name: op.omitted[Face.CLIENT] for op in OPERATIONS if not op.serves(Face.CLIENT)}
ONLY_CLIENT = {
    "routed": "returns a call's value with how it was served (daemon or local fallback)",
}
#: Error codes raised only in the CLI/daemon process, never answered over HTTP.
PROCESS_ONLY_CODES = {"already_running", "port_in_use", "service_error"}


def _public_methods(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}


def test_all_is_sorted_and_complete() -> None:
    exported = list(memoryd.__all__)
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(memoryd, name), name
    defined = {
        name
        for name, value in vars(memoryd).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and getattr(value, "__module__", "").startswith("memoryd")
    }
    lazy = {"Memory", "Client"}  # imported on first use by the package's __getattr__
    assert defined | lazy == set(exported)


def test_memory_and_client_have_the_same_methods_and_signatures() -> None:
    memory, client = _public_methods(Memory), _public_methods(Client)
    assert memory - client == set(ONLY_MEMORY)
    assert client - memory == set(ONLY_CLIENT)
    different = []
    for name in sorted(memory & client):
        ours = inspect.signature(getattr(Memory, name), eval_str=True)
        theirs = inspect.signature(getattr(Client, name), eval_str=True)
        if ours != theirs:
            different.append(f"{name}: Memory{ours} != Client{theirs}")
    assert different == []
    assert len(memory & client) >= 40


def test_typescript_client_has_a_class_for_every_answered_error_code() -> None:
    source = (REPO / "clients" / "typescript" / "src" / "errors.ts").read_text("utf-8")
    typescript = set(re.findall(r'static override readonly code: string = "([a-z_]+)"', source))
    python = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.MemorydError)
        and cls is not errors.MemorydError
    }
    assert python - PROCESS_ONLY_CODES <= typescript, sorted(python - typescript)
    assert typescript <= python, sorted(typescript - python)

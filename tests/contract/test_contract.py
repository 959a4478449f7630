"""The contract suite: each scenario through every face that serves it, with the same results.

Faces: ``Memory`` (library), ``Client`` over HTTP, MCP over stdio (``memoryd
mcp``, which starts a real daemon), MCP over streamable HTTP (the daemon's
``/mcp``) and the CLI (``memoryd --format json`` on its own store). A scenario
runs on the faces that serve all its operations, as the registry declares;
every step's projection must equal the library's. A coverage test iterates
the registry: every operation a face serves is exercised on that face by
some scenario, unless :data:`NOT_DRIVEN` says why not.
"""

from __future__ import annotations

from typing import Any

import pytest
from contract_faces import Failed, cli_serves
from contract_scenarios import SCENARIOS, Scenario, Step

import waits
from memoryd.operations import OPERATIONS, Face, operation

FACES = ("library", "client", "mcp_stdio", "mcp_http", "cli")

#: (operation, face) pairs the registry serves that no scenario drives here, and why.
NOT_DRIVEN = {
    ("add_many", Face.CLI): "the CLI's import reads files: tests/cli/test_cli_transfer.py",
    ("import_entries", Face.CLI): "the CLI's import reads files: tests/cli/test_cli_transfer.py",
    ("export", Face.CLI): "the CLI's export writes files: tests/cli/test_cli_transfer.py",
    ("flush_retrievals", Face.LIBRARY): "no result to compare: tests/engine covers the counters",
    ("recommend_for", Face.LIBRARY): "an engine helper: hand-off packs carry its result",
}


#: The registry's faces each test face drives (the client speaks REST).
_DRIVES = {
    "library": (Face.LIBRARY,),
    "client": (Face.CLIENT, Face.REST),
    "mcp_stdio": (Face.MCP,),
    "mcp_http": (Face.MCP,),
    "cli": (Face.CLI,),
}


def _serves(face: str, op: str) -> bool:
    kind = _DRIVES[face][0]
    return operation(op).serves(kind) and (kind is not Face.CLI or cli_serves(op))


def faces_of(scenario: Scenario) -> list[str]:
    """The faces that serve every operation of ``scenario``."""
    return [face for face in FACES if all(_serves(face, op) for op in scenario.ops)]


def _run(face: Any, step: Step, ctx: dict[str, Any]) -> Any:
    args = step.args(ctx) if callable(step.args) else dict(step.args)
    if step.error is not None:
        with pytest.raises(Failed) as failed:
            face.run(step.op, args)
        return ("error", failed.value.code)
    if step.until is None:
        value = face.run(step.op, args)
    else:

        def settled() -> tuple[Any] | None:
            value = face.run(step.op, args)
            return (value,) if step.until(value) else None  # type: ignore[misc]

        (value,) = waits.wait_until(settled, timeout_s=60.0, message=f"{step.op} settled")
    if step.save:
        ctx[step.save] = value
    return step.project(value, ctx) if step.with_ctx else step.project(value)


def run_scenario(face: Any, scenario: Scenario, namespace: str) -> list[Any]:
    """Every step's projection on ``face``, in a fresh ``namespace``."""
    ctx: dict[str, Any] = {"ns": namespace}
    return [_run(face, step, ctx) for step in scenario.steps]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_face_gives_the_same_results(scenario: Scenario, faces: dict[str, Any]) -> None:
    names = faces_of(scenario)
    assert names[0] == "library" and len(names) >= 2, names
    slug = scenario.name.replace(" ", "-")
    results = {name: run_scenario(faces[name], scenario, f"{slug}-{name}") for name in names}
    expected = results["library"]
    for name, got in results.items():
        for step, want, have in zip(scenario.steps, expected, got, strict=True):
            assert have == want, f"{name}: {step.op}: {have!r} != library's {want!r}"


def test_every_served_operation_is_driven_on_every_face() -> None:
    driven = {
        (op, kind)
        for scenario in SCENARIOS
        for face in faces_of(scenario)
        for op in scenario.ops
        for kind in _DRIVES[face]
    }
    missing = []
    for op in OPERATIONS:
        for kind in Face:
            if op.serves(kind) and (op.name, kind) not in driven | set(NOT_DRIVEN):
                missing.append(f"{op.name} on {kind}")
    assert missing == []
    assert not set(NOT_DRIVEN) & driven, "a pair in NOT_DRIVEN is driven: drop it"

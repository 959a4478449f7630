"""Face coverage: every face serves exactly what the operation registry declares.

For each face (library, Python client, REST, MCP, CLI) the test lists what the
face really serves (``Memory``'s methods, ``Client``'s, the FastAPI app's
routes, the MCP server's ``tools/list``, the typer app's commands) and
compares it with :data:`memoryd.operations.OPERATIONS`: an operation a face
lacks without a declared reason fails, and so does anything a face serves
that the registry does not declare.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import anyio
import pytest
import typer.main
from typer.core import TyperGroup

from memoryd import Client, Memory
from memoryd.config import Settings
from memoryd.mcp.backend import EngineBackend
from memoryd.mcp.tools import build_server
from memoryd.operations import (
    CLI_VIEWS,
    DAEMON_ROUTES,
    OPERATIONS,
    PROCESS_COMMANDS,
    Effect,
    Face,
    Operation,
    Rest,
    operation,
)
from memoryd.server.app import create_app

#: Public methods that are the object's lifecycle, not operations.
LIFECYCLE = {"close"}
#: Client-only public methods, and why.
CLIENT_ONLY = {"routed": "returns a call's value with how it was served (daemon or local)"}


def _public_methods(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}


def test_every_operation_is_a_memory_method_and_back() -> None:
    declared = {op.name for op in OPERATIONS}
    assert len(declared) == len(OPERATIONS), "an operation is declared twice"
    assert _public_methods(Memory) - LIFECYCLE == declared


def test_the_client_serves_every_operation_it_does_not_omit() -> None:
    served = {op.name for op in OPERATIONS if op.serves(Face.CLIENT)}
    assert _public_methods(Client) - LIFECYCLE - set(CLIENT_ONLY) == served


def _rest_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """``(method, path)`` of every route in the app's OpenAPI document (the wire contract)."""
    document = create_app(Settings(data_dir=tmp_path / "data")).openapi()
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def _wire(rest: Rest) -> tuple[str, str]:
    return rest.method, rest.path.replace(":path}", "}")


def test_rest_routes_are_the_declared_ones(tmp_path: Path) -> None:
    routes = _rest_routes(tmp_path)
    own = {_wire(op.rest) for op in OPERATIONS if op.rest and not op.rest.via}
    assert routes == own | set(DAEMON_ROUTES)
    for op in OPERATIONS:
        if op.rest is not None and op.rest.via is not None:
            host = operation(op.rest.via).rest
            assert host is not None and (host.method, host.path) == (op.rest.method, op.rest.path)
        if op.rest is None:
            assert op.omitted[Face.REST]


def _tools() -> dict[str, dict[str, Any]]:
    server = build_server(EngineBackend(lambda: pytest.fail("tools/list must not call the engine")))

    async def listed() -> list[Any]:
        return list(await server.list_tools())

    tools = anyio.run(listed)
    return {t.name: t.annotations.model_dump(by_alias=True, exclude_none=True) for t in tools}


def test_mcp_tools_are_the_declared_ones_with_their_annotations() -> None:
    tools = _tools()
    declared = {tool: op for op in OPERATIONS for tool in op.tools}
    assert set(tools) == set(declared)
    for name, hints in tools.items():
        assert hints == declared[name].annotations, name
        assert hints["readOnlyHint"] is (declared[name].effect is Effect.READ), name


def _commands(group: TyperGroup, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, TyperGroup):
            names |= _commands(command, f"{path} ")
        else:
            names.add(path)
    return names


def test_cli_commands_are_the_declared_ones() -> None:
    from memoryd.cli.main import app

    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    declared = {op.cli for op in OPERATIONS if op.cli is not None}
    assert _commands(group) == declared | set(PROCESS_COMMANDS) | set(CLI_VIEWS)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_face_serves_the_operation_or_says_why(op: Operation) -> None:
    docstring = inspect.getdoc(getattr(Memory, op.name)) or ""
    assert docstring.partition("\n")[0].endswith("."), "its first line is the summary"
    for face in Face:
        if face in op.omitted:
            assert len(op.omitted[face]) >= 20, (face, op.omitted[face])
    if op.effect is Effect.READ:
        assert not op.idempotent, "reads are idempotent by definition"


def test_a_declaration_that_neither_serves_nor_says_why_is_refused() -> None:
    with pytest.raises(ValueError, match="mcp does not serve it and gives no reason"):
        Operation("x", Effect.READ, None, rest=Rest("GET", "/v1/x"), cli="x")
    with pytest.raises(ValueError, match="cli serves it and is omitted"):
        Operation(
            "x",
            Effect.READ,
            None,
            rest=Rest("GET", "/v1/x"),
            tools=("x",),
            cli="x",
            omitted={Face.CLI: "because"},
        )

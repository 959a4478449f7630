"""ToolMaker refuses declarations it cannot make a tool of, when they are declared."""

from __future__ import annotations

import pytest
from mcp.server.mcpserver import MCPServer

from memoryd.client import Client
from memoryd.mcp.backend import ClientBackend
from memoryd.mcp.maker import ToolMaker
from memoryd.mcp.models import MemoryOutput, Served


def _maker() -> ToolMaker:
    return ToolMaker(MCPServer("t"), ClientBackend(Client))  # the factory is never called


def test_a_declaration_returns_none_or_a_call() -> None:
    tools = _maker()
    with pytest.raises(TypeError, match="memory_get: a tool declaration returns None or Call"):

        @tools(MemoryOutput)
        def memory_get(id: str) -> str:
            return id


def test_a_tool_the_registry_does_not_declare_is_refused() -> None:
    tools = _maker()
    with pytest.raises(KeyError):

        @tools(MemoryOutput)
        def memory_teleport(id: str) -> None:
            """Not an operation's tool."""


def test_an_output_with_no_answer_field_and_no_of_is_refused() -> None:
    class Bare(Served):
        value: int

    with pytest.raises(TypeError, match="Bare: set ANSWER or override of"):
        _maker()(Bare)

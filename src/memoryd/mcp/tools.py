"""The MCP tools and resources of memoryd (official ``mcp`` SDK, ``MCPServer``).

A small, sharp set: memories (save, search, context within a token budget,
get, update, supersede, delete, list), conversation turns (append, recent)
and session state (set, get), plus the resource template ``memory://{id}`` (default namespace) and
``memory://{namespace}/{id}``. Every tool returns a structured output
(:mod:`memoryd.mcp.models`) saying ``served_by`` and ``degraded``; a memoryd
error becomes an ``isError`` result whose text is
``{"error": {"code", "message", "details"}}`` with the stable code of
:mod:`memoryd.errors`.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from pydantic import Field

import memoryd
from memoryd.bounds import (
    DEFAULT_BUDGET_TOKENS,
    MCP_MAX_BUDGET_TOKENS,
    MCP_MAX_PAGE,
    MCP_MAX_RECENT_TURNS,
    MCP_MAX_SEARCH_HITS,
    MIN_BUDGET_TOKENS,
)
from memoryd.config import Settings
from memoryd.errors import MemorydError
from memoryd.mcp.backend import ToolBackend
from memoryd.mcp.learning_tools import register_learning_tools
from memoryd.mcp.maker import Call, ToolMaker
from memoryd.mcp.models import (
    NOT_SET,
    ContextOutput,
    DeleteOutput,
    ListOutput,
    MemoryOutput,
    MessagesOutput,
    SearchOutput,
    StateOutput,
    entry_out,
)
from memoryd.mcp.params import Fraction, MemoryId, Namespace
from memoryd.mcp.schema import CompactSchemaServer
from memoryd.types import Kind, SearchMode

__all__ = ["INSTRUCTIONS", "build_server"]

INSTRUCTIONS = (
    "memoryd is a long-term memory shared by every agent on this machine. Save durable facts, "
    "preferences and decisions with memory_save; before answering, look things up with "
    "memory_search (hybrid BM25 + vector search). Use namespaces to separate projects or users. "
    "When a fact changes, memory_supersede keeps the old version as history."
)


def build_server(
    backend: ToolBackend, *, name: str = "memoryd", max_result_bytes: int | None = None
) -> MCPServer:
    """An ``MCPServer`` whose tools run on ``backend``; ``tools/list`` in declaration order.

    Args:
        backend: :class:`~memoryd.mcp.backend.EngineBackend` in the daemon,
            :class:`~memoryd.mcp.backend.ClientBackend` in ``memoryd mcp``.
        name: the server name reported in the handshake.
        max_result_bytes: cap on a tool result's JSON, in bytes (default
            ``Settings.mcp_max_result_bytes``'s default).
    """
    server: MCPServer = CompactSchemaServer(
        name,
        version=memoryd.__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        max_result_bytes=max_result_bytes or Settings.model_fields["mcp_max_result_bytes"].default,
    )
    tools = ToolMaker(server, backend)

    @tools(MemoryOutput)
    def memory_save(
        content: Annotated[str, Field(description="The memory, one self-contained statement.")],
        namespace: Namespace = "default",
        tags: list[str] | None = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="JSON object, filterable.")
        ] = None,
        importance: Fraction = None,
        session_id: str | None = None,
        ttl_seconds: Annotated[
            float | None, Field(gt=0, description="Forget after this many seconds.")
        ] = None,
    ) -> None:
        """Save a memory (durable on return); saving the same content again returns it."""

    @tools(SearchOutput)
    def memory_search(
        query: Annotated[str, Field(description="What to look for, in natural language.")],
        namespace: Namespace = "default",
        limit: Annotated[int, Field(ge=1, le=MCP_MAX_SEARCH_HITS)] = 10,
        mode: SearchMode = "hybrid",
        kinds: list[Kind] | None = None,
        tags: Annotated[list[str] | None, Field(description="Every tag must match.")] = None,
        session_id: str | None = None,
        filter: Annotated[
            dict[str, Any] | None,
            Field(description='Metadata filter, e.g. {"field": "topic", "op": "eq", "value": "x"}'),
        ] = None,
        min_score: Fraction = None,
    ) -> None:
        """Search memories: hybrid BM25 + vector by default, best first, with scores."""

    @tools(ContextOutput)
    def memory_context(
        query: Annotated[str, Field(description="What the task needs to recall.")],
        budget_tokens: Annotated[
            int,
            Field(
                ge=MIN_BUDGET_TOKENS,
                le=MCP_MAX_BUDGET_TOKENS,
                description="Most tokens of snippet text (the embedding model's tokenizer).",
            ),
        ] = DEFAULT_BUDGET_TOKENS,
        namespace: Namespace = "default",
        kinds: list[Kind] | None = None,
        tags: Annotated[
            list[str] | None, Field(description="Only memories with these tags.")
        ] = None,
        session_id: str | None = None,
    ) -> None:
        """Best memories for a query packed into a token budget: merged, cited by id, in order."""

    @tools(MemoryOutput)
    def memory_get(id: MemoryId, namespace: Namespace = "default") -> None:
        """Get one memory by id (error code not_found if it does not exist or expired)."""

    @tools(MemoryOutput)
    def memory_update(
        id: MemoryId,
        namespace: Namespace = "default",
        content: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: Fraction = None,
    ) -> None:
        """Change a memory in place (same id); memory_supersede keeps the old text instead."""

    @tools(MemoryOutput)
    def memory_supersede(
        id: Annotated[str, Field(description="The id of the memory that is now out of date.")],
        content: Annotated[str, Field(description="The corrected memory.")],
        namespace: Namespace = "default",
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Replace a memory by a new version; the old one stays as history, out of search."""

    @tools(DeleteOutput)
    def memory_delete(id: MemoryId, namespace: Namespace = "default") -> None:
        """Delete a memory for good."""

    @tools(ListOutput)
    def memory_list(
        namespace: Namespace = "default",
        kinds: list[Kind] | None = None,
        tags: list[str] | None = None,
        session_id: str | None = None,
        limit: Annotated[int, Field(ge=1, le=MCP_MAX_PAGE)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor of the last page.")] = None,
    ) -> None:
        """List memories, newest first, one page at a time."""

    @tools(MemoryOutput)
    def conversation_append(
        session_id: Annotated[str, Field(description="The conversation's id.")],
        content: str,
        role: Annotated[str, Field(description="user, assistant, or a speaker's name.")] = "user",
        namespace: Namespace = "default",
    ) -> None:
        """Append one turn to a conversation (searchable like any memory)."""

    @tools(MessagesOutput)
    def conversation_recent(
        session_id: str,
        n: Annotated[int, Field(ge=1, le=MCP_MAX_RECENT_TURNS)] = 20,
        namespace: Namespace = "default",
    ) -> None:
        """The last n turns of a conversation, oldest first."""

    @tools(StateOutput)
    def state_set(
        session_id: str,
        key: str,
        value: Annotated[Any, Field(description="Any JSON value.")],
        namespace: Namespace = "default",
    ) -> None:
        """Set a session-state value (one value per session and key; overwrites)."""

    @tools(StateOutput)
    def state_get(session_id: str, key: str, namespace: Namespace = "default") -> Call:
        """Get a session-state value; found is false when it is not set."""
        return Call(session_id, key, NOT_SET, namespace=namespace)

    async def read_memory(namespace: str, id: str) -> str:
        try:
            routed = await backend.call("get", id, namespace=namespace)
        except MemorydError as exc:
            raise ResourceError(f"{exc.code}: {exc.message}") from exc
        return entry_out(routed.value).model_dump_json()

    @server.resource("memory://{id}", mime_type="application/json")
    async def memory_resource(id: str) -> str:
        """A memory of the default namespace, as JSON."""
        return await read_memory("default", id)

    @server.resource("memory://{namespace}/{id}", mime_type="application/json")
    async def namespaced_memory_resource(namespace: str, id: str) -> str:
        """A memory of any namespace, as JSON."""
        return await read_memory(namespace, id)

    register_learning_tools(server, backend)
    return server

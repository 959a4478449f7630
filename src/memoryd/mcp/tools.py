"""The MCP tools and resources of memoryd (official ``mcp`` SDK, ``MCPServer``).

A small, sharp set: memories (save, search, get, update, supersede, delete,
list), conversation turns (append, recent) and session state (set, get),
plus the resource template ``memory://{id}`` (default namespace) and
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
from mcp_types import CallToolResult
from pydantic import Field

import memoryd
from memoryd.bounds import MCP_MAX_PAGE, MCP_MAX_RECENT_TURNS, MCP_MAX_SEARCH_HITS
from memoryd.client.routing import Routed
from memoryd.config import Settings
from memoryd.errors import MemorydError, NotFound
from memoryd.mcp.backend import ToolBackend
from memoryd.mcp.learning_tools import register_learning_tools
from memoryd.mcp.models import (
    DeleteOutput,
    HitOutput,
    ListOutput,
    MemoryOutput,
    MessagesOutput,
    SearchOutput,
    StateOutput,
    entry_out,
    served,
)
from memoryd.mcp.results import present, run_tool, tool
from memoryd.mcp.schema import CompactSchemaServer
from memoryd.types import Kind, MemoryEntry, SearchMode, SearchResult

__all__ = ["INSTRUCTIONS", "build_server"]

INSTRUCTIONS = (
    "memoryd is a long-term memory shared by every agent on this machine. Save durable facts, "
    "preferences and decisions with memory_save; before answering, look things up with "
    "memory_search (hybrid BM25 + vector search). Use namespaces to separate projects or users. "
    "When a fact changes, memory_supersede keeps the old version as history."
)

Namespace = Annotated[
    str, Field(description="Isolation scope, e.g. a project or user (default 'default').")
]
MemoryId = Annotated[str, Field(description="The memory's id (a UUID).")]


def _search_output(routed: Routed[SearchResult]) -> SearchOutput:
    result = routed.value
    return SearchOutput(
        hits=[HitOutput(memory=entry_out(hit.entry), score=hit.score) for hit in result.hits],
        mode=result.mode,
        took_ms=result.took_ms,
        notes=result.notes,
        **served(routed),
    )


def build_server(  # noqa: C901
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

    def memory_output(routed: Routed[MemoryEntry]) -> MemoryOutput:
        return MemoryOutput(memory=entry_out(routed.value), **served(routed))

    @tool(server, "memory_save")
    async def memory_save(
        content: Annotated[str, Field(description="The memory, one self-contained statement.")],
        namespace: Namespace = "default",
        tags: list[str] | None = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="JSON object, filterable.")
        ] = None,
        importance: Annotated[float | None, Field(ge=0, le=1)] = None,
        session_id: str | None = None,
        ttl_seconds: Annotated[
            float | None, Field(gt=0, description="Forget after this many seconds.")
        ] = None,
    ) -> Annotated[CallToolResult, MemoryOutput]:
        """Save a memory (durable on return); saving the same content again returns it."""
        fields = present(
            namespace=namespace,
            tags=tags,
            metadata=metadata,
            importance=importance,
            session_id=session_id,
            ttl_seconds=ttl_seconds,
        )
        return await run_tool(backend.call("add", content, **fields), memory_output)

    @tool(server, "memory_search")
    async def memory_search(
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
        min_score: Annotated[float | None, Field(ge=0, le=1)] = None,
    ) -> Annotated[CallToolResult, SearchOutput]:
        """Search memories: hybrid BM25 + vector by default, best first, with scores."""
        params = present(
            namespace=namespace,
            limit=limit,
            mode=mode,
            kinds=kinds,
            tags=tags,
            session_id=session_id,
            filter=filter,
            min_score=min_score,
        )
        return await run_tool(backend.call("search", query, **params), _search_output)

    @tool(server, "memory_get")
    async def memory_get(
        id: MemoryId, namespace: Namespace = "default"
    ) -> Annotated[CallToolResult, MemoryOutput]:
        """Get one memory by id (error code not_found if it does not exist or expired)."""
        return await run_tool(backend.call("get", id, namespace=namespace), memory_output)

    @tool(server, "memory_update")
    async def memory_update(
        id: MemoryId,
        namespace: Namespace = "default",
        content: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: Annotated[float | None, Field(ge=0, le=1)] = None,
    ) -> Annotated[CallToolResult, MemoryOutput]:
        """Change a memory in place (same id); memory_supersede keeps the old text instead."""
        change = present(content=content, tags=tags, metadata=metadata, importance=importance)
        return await run_tool(
            backend.call("update", id, change, namespace=namespace), memory_output
        )

    @tool(server, "memory_supersede")
    async def memory_supersede(
        id: Annotated[str, Field(description="The id of the memory that is now out of date.")],
        content: Annotated[str, Field(description="The corrected memory.")],
        namespace: Namespace = "default",
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Annotated[CallToolResult, MemoryOutput]:
        """Replace a memory by a new version; the old one stays as history, out of search."""
        fields = present(tags=tags, metadata=metadata)
        return await run_tool(
            backend.call("supersede", id, content, namespace=namespace, **fields), memory_output
        )

    @tool(server, "memory_delete")
    async def memory_delete(
        id: MemoryId, namespace: Namespace = "default"
    ) -> Annotated[CallToolResult, DeleteOutput]:
        """Delete a memory for good."""
        return await run_tool(
            backend.call("delete", id, namespace=namespace),
            lambda routed: DeleteOutput(id=id, deleted=True, **served(routed)),
        )

    @tool(server, "memory_list")
    async def memory_list(
        namespace: Namespace = "default",
        kinds: list[Kind] | None = None,
        tags: list[str] | None = None,
        session_id: str | None = None,
        limit: Annotated[int, Field(ge=1, le=MCP_MAX_PAGE)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor of the last page.")] = None,
    ) -> Annotated[CallToolResult, ListOutput]:
        """List memories, newest first, one page at a time."""
        params = present(kinds=kinds, tags=tags, session_id=session_id, cursor=cursor)
        return await run_tool(
            backend.call("list", namespace=namespace, limit=limit, **params),
            lambda routed: ListOutput(
                items=[entry_out(e) for e in routed.value.items],
                next_cursor=routed.value.next_cursor,
                **served(routed),
            ),
        )

    @tool(server, "conversation_append")
    async def conversation_append(
        session_id: Annotated[str, Field(description="The conversation's id.")],
        content: str,
        role: Annotated[str, Field(description="user, assistant, or a speaker's name.")] = "user",
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, MemoryOutput]:
        """Append one turn to a conversation (searchable like any memory)."""
        return await run_tool(
            backend.call("append", session_id, content, role=role, namespace=namespace),
            memory_output,
        )

    @tool(server, "conversation_recent")
    async def conversation_recent(
        session_id: str,
        n: Annotated[int, Field(ge=1, le=MCP_MAX_RECENT_TURNS)] = 20,
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, MessagesOutput]:
        """The last n turns of a conversation, oldest first."""
        return await run_tool(
            backend.call("last_messages", session_id, n, namespace=namespace),
            lambda routed: MessagesOutput(
                session_id=session_id,
                messages=[entry_out(e) for e in routed.value],
                **served(routed),
            ),
        )

    @tool(server, "state_set")
    async def state_set(
        session_id: str,
        key: str,
        value: Annotated[Any, Field(description="Any JSON value.")],
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, StateOutput]:
        """Set a session-state value (one value per session and key; overwrites)."""
        return await run_tool(
            backend.call("set_state", session_id, key, value, namespace=namespace),
            lambda routed: StateOutput(
                session_id=session_id, key=key, found=True, value=value, **served(routed)
            ),
        )

    @tool(server, "state_get")
    async def state_get(
        session_id: str, key: str, namespace: Namespace = "default"
    ) -> Annotated[CallToolResult, StateOutput]:
        """Get a session-state value; found is false when it is not set."""
        missing = object()
        return await run_tool(
            backend.call("get_state", session_id, key, missing, namespace=namespace),
            lambda routed: StateOutput(
                session_id=session_id,
                key=key,
                found=routed.value is not missing,
                value=None if routed.value is missing else routed.value,
                **served(routed),
            ),
        )

    async def read_memory(namespace: str, id: str) -> str:
        try:
            routed = await backend.call("get", id, namespace=namespace)
        except NotFound as exc:
            raise ResourceError(f"not_found: {exc.message}") from exc
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

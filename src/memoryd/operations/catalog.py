"""Every operation of memoryd, declared once (the registry; see :mod:`memoryd.operations.spec`).

To add an operation: write the ``Memory`` method (the engine), declare it here
with the faces that serve it and the reason for each that does not (the
reasons are in :mod:`memoryd.operations.reasons`), then add
the face code the declaration names (a tool declaration, ``mcp/maker.py``; a
CLI command; a REST route only when it is ``hand_route``, with
``@endpoint(router, name)``: ``server/routes/generated.py`` builds the others,
and ``scripts/generate_client.py`` the ``Client`` method). The
face-coverage test (``tests/test_operations.py``) fails until every face
agrees with this table, and the wire snapshots (``clients/typescript/openapi.json``,
``tests/mcp`` ``tools/list``) show what the new operation adds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from memoryd.errors import (
    Conflict,
    DimensionMismatch,
    IdConflict,
    NotFound,
)
from memoryd.operations.bodies import (
    BatchInput,
    ContextRequest,
    DeleteResult,
    ImportResult,
    KvInput,
    MessageInput,
    ServerStats,
    ValueInput,
    ValueOut,
)
from memoryd.operations.learning_catalog import EPISODES, PATTERNS
from memoryd.operations.reasons import BULK, CLI_LATER, INTERNAL, KV_TOOLS, OPERATOR
from memoryd.operations.spec import Effect, Face, Operation, Rest
from memoryd.reports import ForgetResult, ForgetScope, IntegrityReport, StoreStats
from memoryd.types import (
    MemoryEntry,
    MemoryInput,
    MemoryPatch,
    PackedContext,
    Page,
    SearchParams,
    SearchResult,
)

__all__ = [
    "CLI_VIEWS",
    "DAEMON_ROUTES",
    "OPERATIONS",
    "PROCESS_COMMANDS",
    "operation",
    "tool_operation",
]

R, W, D = Effect.READ, Effect.WRITE, Effect.DELETE


_MEMORIES = (
    Operation(
        "add",
        W,
        MemoryEntry,
        rest=Rest("POST", "/v1/memories", 201, query=(), body=MemoryInput, custom=True),
        tools=("memory_save",),
        cli="add",
        raises=(IdConflict, DimensionMismatch),
        idempotent=True,
    ),
    Operation(
        "add_many",
        W,
        list[MemoryEntry],
        rest=Rest("POST", "/v1/memories/batch", query=(), body=BatchInput, custom=True),
        cli="import",
        raises=(IdConflict, DimensionMismatch),
        idempotent=True,
        omitted={Face.MCP: BULK},
    ),
    Operation(
        "get",
        R,
        MemoryEntry,
        rest=Rest("GET", "/v1/memories/{id}"),
        tools=("memory_get",),
        cli="get",
        raises=(NotFound,),
    ),
    Operation(
        "update",
        W,
        MemoryEntry,
        rest=Rest("PATCH", "/v1/memories/{id}", body=MemoryPatch, custom=True),
        tools=("memory_update",),
        raises=(NotFound, Conflict),
        idempotent=True,
        omitted={Face.CLI: CLI_LATER},
    ),
    Operation(
        "delete",
        D,
        None,
        rest=Rest("DELETE", "/v1/memories/{id}", 204),
        tools=("memory_delete",),
        cli="delete",
        raises=(NotFound,),
    ),
    Operation(
        "supersede",
        W,
        MemoryEntry,
        rest=Rest("POST", "/v1/memories/{id}/supersede", 201, body=MemoryInput, custom=True),
        tools=("memory_supersede",),
        raises=(NotFound, Conflict),
        omitted={Face.CLI: CLI_LATER},
    ),
    Operation(
        "history",
        R,
        list[MemoryEntry],
        rest=Rest("GET", "/v1/memories/{id}/history"),
        raises=(NotFound,),
        omitted={
            Face.MCP: "memory_get shows supersedes/superseded_by; whole chains are for review",
            Face.CLI: CLI_LATER,
        },
    ),
    Operation(
        "list",
        R,
        Page,
        rest=Rest(
            "GET",
            "/v1/memories",
            query=(
                "namespace",
                "kinds",
                "session_id",
                "tags",
                "filter",
                "limit",
                "cursor",
                "include_superseded",
            ),
            custom=True,
        ),
        tools=("memory_list",),
        cli="list",
    ),
    Operation(
        "search",
        R,
        SearchResult,
        rest=Rest("POST", "/v1/search", query=(), body=SearchParams, custom=True, hand_route=True),
        tools=("memory_search",),
        cli="search",
    ),
    Operation(
        "pack_context",
        R,
        PackedContext,
        rest=Rest("POST", "/v1/search/context", query=(), body=ContextRequest),
        tools=("memory_context",),
        cli="context",
    ),
    Operation(
        "forget",
        D,
        ForgetResult,
        rest=Rest("POST", "/v1/forget", query=(), body=ForgetScope, custom=True),
        cli="forget",
        omitted={Face.MCP: OPERATOR},
    ),
)

_SESSIONS = (
    Operation(
        "append",
        W,
        MemoryEntry,
        rest=Rest("POST", "/v1/sessions/{session_id}/messages", 201, body=MessageInput),
        tools=("conversation_append",),
        raises=(IdConflict,),
        omitted={Face.CLI: CLI_LATER},
    ),
    Operation(
        "session_messages",
        R,
        list[MemoryEntry],
        rest=Rest("GET", "/v1/sessions/{session_id}/messages", hand_route=True),
        omitted={
            Face.MCP: "conversation_recent serves agents with a bounded number of turns",
            Face.CLI: CLI_LATER,
        },
    ),
    Operation(
        "last_messages",
        R,
        list[MemoryEntry],
        rest=Rest(
            "GET",
            "/v1/sessions/{session_id}/messages",
            via="session_messages",
            query=("namespace", "n"),
            wire={"n": "last"},
        ),
        tools=("conversation_recent",),
        omitted={Face.CLI: CLI_LATER},
    ),
    Operation(
        "set_state",
        W,
        MemoryEntry,
        rest=Rest("PUT", "/v1/sessions/{session_id}/state/{key:path}", body=ValueInput),
        tools=("state_set",),
        raises=(IdConflict,),
        idempotent=True,
        omitted={Face.CLI: CLI_LATER},
    ),
    Operation(
        "get_state",
        R,
        Any,
        rest=Rest(
            "GET",
            "/v1/sessions/{session_id}/state/{key:path}",
            response=ValueOut,
            unwrap="value",
            custom=True,
        ),
        tools=("state_get",),
        raises=(NotFound,),
        omitted={Face.CLI: CLI_LATER},
    ),
    Operation(
        "delete_state",
        D,
        bool,
        rest=Rest(
            "DELETE",
            "/v1/sessions/{session_id}/state/{key:path}",
            response=DeleteResult,
            unwrap="deleted",
        ),
        omitted={
            Face.MCP: "state_set overwrites; session values end with their session",
            Face.CLI: CLI_LATER,
        },
    ),
    Operation(
        "kv_set",
        W,
        MemoryEntry,
        rest=Rest("PUT", "/v1/kv/{key:path}", body=KvInput),
        raises=(IdConflict,),
        idempotent=True,
        omitted={Face.MCP: KV_TOOLS, Face.CLI: CLI_LATER},
    ),
    Operation(
        "kv_get",
        R,
        Any,
        rest=Rest("GET", "/v1/kv/{key:path}", response=ValueOut, unwrap="value", custom=True),
        raises=(NotFound,),
        omitted={Face.MCP: KV_TOOLS, Face.CLI: CLI_LATER},
    ),
    Operation(
        "kv_delete",
        D,
        bool,
        rest=Rest("DELETE", "/v1/kv/{key:path}", response=DeleteResult, unwrap="deleted"),
        omitted={Face.MCP: KV_TOOLS, Face.CLI: CLI_LATER},
    ),
)

_SYSTEM = (
    Operation(
        "stats",
        R,
        StoreStats,
        rest=Rest("GET", "/v1/stats", response=ServerStats, query=(), custom=True, hand_route=True),
        tools=("health_check", "get_metrics"),
        cli="stats",
    ),
    Operation(
        "verify_storage",
        R,
        IntegrityReport,
        rest=Rest("POST", "/v1/storage/verify", query=()),
        cli="storage verify",
        omitted={Face.MCP: OPERATOR},
    ),
    Operation(
        "export",
        R,
        Iterator[MemoryEntry],
        rest=Rest("POST", "/v1/export", custom=True, hand_route=True),
        cli="export",
        omitted={Face.MCP: BULK},
    ),
    Operation(
        "import_entries",
        W,
        int,
        rest=Rest(
            "POST",
            "/v1/import",
            response=ImportResult,
            query=(),
            unwrap="inserted",
            custom=True,
            hand_route=True,
        ),
        cli="import",
        raises=(IdConflict,),
        idempotent=True,
        omitted={Face.MCP: BULK},
    ),
    Operation(
        "flush_retrievals",
        W,
        None,
        omitted={
            Face.CLIENT: "the daemon flushes its own counters (worker interval and close)",
            Face.REST: INTERNAL,
            Face.MCP: INTERNAL,
            Face.CLI: INTERNAL,
        },
    ),
    Operation(
        "recommend_for",
        R,
        list[Any],
        omitted={
            Face.CLIENT: "clients get these inside the pack of checkpoint/resume_episode",
            Face.REST: INTERNAL,
            Face.MCP: INTERNAL,
            Face.CLI: INTERNAL,
        },
    ),
)

#: Every operation, in the order the docs list them.
OPERATIONS: tuple[Operation, ...] = _MEMORIES + _SESSIONS + EPISODES + PATTERNS + _SYSTEM

#: REST routes that are the daemon's own, not operations of the engine, and why.
DAEMON_ROUTES: Mapping[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe of the daemon process",
    ("GET", "/readyz"): "readiness probe: the store is open and healthy",
    ("GET", "/metrics"): "Prometheus exposition of the daemon's counters",
    ("GET", "/v1/identity"): "which store the daemon serves (clients check it before writing)",
}

#: CLI commands that run or manage processes rather than call an operation, and why.
PROCESS_COMMANDS: Mapping[str, str] = {
    "serve": "runs the daemon (REST and MCP over HTTP) in the foreground",
    "mcp": "runs the stdio MCP server, starting or joining the daemon",
    "eval locomo": "runs the LoCoMo benchmark over a fresh store",
    "eval longmemeval": "runs the LongMemEval benchmark over a fresh store",
    "service install": "writes and enables the user service unit",
    "service uninstall": "disables and removes the user service unit",
    "service start": "starts the user service",
    "service stop": "stops the user service",
    "service restart": "restarts the user service",
    "service status": "shows the user service's state",
    "service logs": "shows the user service's log",
}

#: CLI commands that present other operations' results for people, and what they show.
CLI_VIEWS: Mapping[str, str] = {
    "pattern effectiveness": "feedback statistics of list_patterns / get_pattern, as a table",
}

_BY_NAME = {op.name: op for op in OPERATIONS}
_BY_TOOL = {tool: op for op in OPERATIONS for tool in op.tools}


def operation(name: str) -> Operation:
    """The declared operation ``name``.

    Raises:
        KeyError: no operation of that name is declared.
    """
    return _BY_NAME[name]


def tool_operation(tool: str) -> Operation:
    """The operation the MCP tool ``tool`` serves.

    Raises:
        KeyError: no operation declares that tool.
    """
    return _BY_TOOL[tool]

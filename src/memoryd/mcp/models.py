"""Structured outputs of the MCP tools (their JSON Schemas are the tools' ``outputSchema``).

Every output says how the call was served: ``served_by`` is ``"daemon"`` (the
shared daemon's engine) or ``"local"`` (an in-process engine in the
``memoryd mcp`` process, used when the daemon failed); ``degraded`` is True
when the preferred path could not serve it and ``reason`` says why. Fields
whose value is ``null`` are left out of the JSON (every nullable field here
has a default): fewer tokens for the model, less for clients to validate.
Memories appear as :class:`MemoryView`: no vector (384 numbers of noise to an
agent), content hash or model bookkeeping.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from memoryd.client.routing import Routed
from memoryd.types import MemoryEntry, SearchMode

__all__ = [
    "DeleteOutput",
    "HitOutput",
    "ListOutput",
    "MemoryOutput",
    "MemoryView",
    "MessagesOutput",
    "SearchOutput",
    "Served",
    "StateOutput",
    "entry_out",
    "served",
]


class Served(BaseModel):
    """How a call was served."""

    served_by: Literal["daemon", "local"] = Field(
        description="'daemon': the shared memoryd daemon; 'local': this process's own engine."
    )
    degraded: bool = Field(description="True when the daemon could not serve the call.")
    reason: str | None = Field(default=None, description="Why the call was degraded or re-routed.")


def served(routed: Routed[Any]) -> dict[str, Any]:
    """The :class:`Served` fields of a routed call, as keyword arguments."""
    return {"served_by": routed.served_by, "degraded": routed.degraded, "reason": routed.reason}


class MemoryView(BaseModel):
    """A memory as an agent sees it: what it says and how to refer to it.

    A deliberately small schema (plain strings for ids and ISO 8601 times):
    MCP outputs land in a model's context, and clients validate every result
    against the tool's output schema (the full ``MemoryEntry`` schema cost the
    Python SDK 7 ms per 10-hit search; see docs/PERFORMANCE.md).
    """

    id: str
    content: str
    kind: str
    namespace: str
    session_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    importance: float
    created_at: str = Field(description="ISO 8601, UTC.")
    expires_at: str | None = None
    supersedes: str | None = Field(default=None, description="Id of the version it replaced.")
    superseded_by: str | None = None


def entry_out(entry: MemoryEntry) -> MemoryView:
    """The agent's view of ``entry`` (no vector, hash or model bookkeeping)."""
    return MemoryView(
        id=str(entry.id),
        content=entry.content,
        kind=entry.kind,
        namespace=entry.namespace,
        session_id=entry.session_id,
        tags=entry.tags,
        metadata=entry.metadata,
        importance=entry.importance,
        created_at=entry.created_at.isoformat(),
        expires_at=entry.expires_at.isoformat() if entry.expires_at else None,
        supersedes=str(entry.supersedes) if entry.supersedes else None,
        superseded_by=str(entry.superseded_by) if entry.superseded_by else None,
    )


class MemoryOutput(Served):
    """One stored memory."""

    memory: MemoryView


class HitOutput(BaseModel):
    """One search result: the memory and its fused score in [0, 1]."""

    memory: MemoryView
    score: float


class SearchOutput(Served):
    """Search results, best first."""

    hits: list[HitOutput]
    mode: SearchMode
    took_ms: float = Field(description="Engine time in milliseconds.")
    notes: list[str] = Field(default_factory=list)


class DeleteOutput(Served):
    """The outcome of a delete."""

    id: str
    deleted: bool


class ListOutput(Served):
    """One page of memories, newest first; pass ``next_cursor`` to get the next page."""

    items: list[MemoryView]
    next_cursor: str | None = None


class MessagesOutput(Served):
    """Conversation turns of one session, oldest first."""

    session_id: str
    messages: list[MemoryView]


class StateOutput(Served):
    """A session-state value (``found`` is False when the key is not set)."""

    session_id: str
    key: str
    found: bool
    value: Any = None

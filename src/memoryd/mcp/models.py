"""Structured outputs of the MCP tools (their JSON Schemas are the tools' ``outputSchema``).

Every output says how the call was served: ``served_by`` is ``"daemon"`` (the
shared daemon's engine) or ``"local"`` (an in-process engine in the
``memoryd mcp`` process, used when the daemon failed); ``degraded`` is True
when the preferred path could not serve it and ``reason`` says why.
Entries never carry their embedding vector here (it is 384 numbers of noise to an agent).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from memoryd.client.routing import Routed
from memoryd.types import MemoryEntry, ScoreExplain, SearchMode

__all__ = [
    "DeleteOutput",
    "HitOutput",
    "ListOutput",
    "MemoryOutput",
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
    degraded: bool = Field(
        default=False, description="True when the daemon could not serve the call."
    )
    reason: str | None = Field(default=None, description="Why the call was degraded or re-routed.")


def served(routed: Routed[Any]) -> dict[str, Any]:
    """The :class:`Served` fields of a routed call, as keyword arguments."""
    return {"served_by": routed.served_by, "degraded": routed.degraded, "reason": routed.reason}


def entry_out(entry: MemoryEntry) -> MemoryEntry:
    """``entry`` without its vector."""
    return entry.model_copy(update={"vector": None}) if entry.vector is not None else entry


class MemoryOutput(Served):
    """One stored memory."""

    memory: MemoryEntry


class HitOutput(BaseModel):
    """One search result: the memory and its fused score in [0, 1]."""

    memory: MemoryEntry
    score: float
    explain: ScoreExplain | None = None


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

    items: list[MemoryEntry]
    next_cursor: str | None = None


class MessagesOutput(Served):
    """Conversation turns of one session, oldest first."""

    session_id: str
    messages: list[MemoryEntry]


class StateOutput(Served):
    """A session-state value (``found`` is False when the key is not set)."""

    session_id: str
    key: str
    found: bool
    value: Any = None

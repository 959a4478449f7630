"""Structured outputs of the MCP tools (their JSON Schemas are the tools' ``outputSchema``).

Every output says how the call was served: ``served_by`` is ``"daemon"`` (the
shared daemon's engine) or ``"local"`` (an in-process engine in the
``memoryd mcp`` process, used when the daemon failed); ``degraded`` is True
when the preferred path could not serve it and ``reason`` says why. Fields
whose value is ``null`` are left out of the JSON (every nullable field here
has a default): fewer tokens for the model, less for clients to validate.
Memories appear as :class:`MemoryView`: no vector (384 numbers of noise to an
agent), content hash or model bookkeeping.

The outputs that hold a list which can grow long (search hits, list pages,
conversation turns) derive from :class:`Truncated` and name the list in
``CUT``: :func:`memoryd.mcp.results.fit_result` leaves items out of it when
the result would exceed ``Settings.mcp_max_result_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from memoryd.client.routing import Routed
from memoryd.types import MemoryEntry, SearchMode

__all__ = [
    "Cut",
    "DeleteOutput",
    "HitOutput",
    "ListOutput",
    "MemoryOutput",
    "MemoryView",
    "MessagesOutput",
    "SearchOutput",
    "Served",
    "StateOutput",
    "Truncated",
    "entry_out",
    "served",
]


@dataclass(frozen=True)
class Cut:
    """Which list of an output is shortened to fit the size limit, and how.

    Attributes:
        field: the list field.
        keep: ``"first"`` keeps the head (best hits, newest memories),
            ``"last"`` the tail (the most recent turns of a conversation).
        refetch: the tool argument that sets how many items a call returns,
            when the result has a cursor that must follow its last item: the
            call is made again with it set to the items that fit.
    """

    field: str
    keep: Literal["first", "last"]
    refetch: str | None = None


class Truncated(BaseModel):
    """Whether items were left out to keep the result under the size limit."""

    CUT: ClassVar[Cut]

    truncated: bool = Field(
        default=False,
        description="True when items were left out to keep this result under the server's "
        "size limit (setting mcp_max_result_bytes); ask for fewer or narrower results.",
    )
    omitted: int = Field(default=0, ge=0, description="How many items were left out.")


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
    """The agent's view of ``entry`` (no vector, hash or model bookkeeping).

    Each field of :class:`MemoryView` is the entry's, ids as text and times
    in ISO 8601 (``datetime.isoformat``).
    """
    return MemoryView(**{name: _plain(getattr(entry, name)) for name in MemoryView.model_fields})


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    return value.isoformat() if isinstance(value, datetime) else value


class MemoryOutput(Served):
    """One stored memory."""

    memory: MemoryView


class HitOutput(BaseModel):
    """One search result: the memory and its fused score in [0, 1]."""

    memory: MemoryView
    score: float


class SearchOutput(Served, Truncated):
    """Search results, best first."""

    CUT: ClassVar[Cut] = Cut("hits", "first")  # cut to fit: the lowest-ranked hits go

    hits: list[HitOutput]
    mode: SearchMode
    took_ms: float = Field(description="Engine time in milliseconds.")
    notes: list[str] = Field(default_factory=list)


class DeleteOutput(Served):
    """The outcome of a delete."""

    id: str
    deleted: bool


class ListOutput(Served, Truncated):
    """One page of memories, newest first; pass ``next_cursor`` to get the next page."""

    # Cut to fit, the page is fetched again with fewer items, so next_cursor
    # continues right after its last item and no memory is skipped.
    CUT: ClassVar[Cut] = Cut("items", "first", refetch="limit")

    items: list[MemoryView]
    next_cursor: str | None = None


class MessagesOutput(Served, Truncated):
    """Conversation turns of one session, oldest first."""

    CUT: ClassVar[Cut] = Cut("messages", "last")  # cut to fit: the oldest turns go

    session_id: str
    messages: list[MemoryView]


class StateOutput(Served):
    """A session-state value (``found`` is False when the key is not set)."""

    session_id: str
    key: str
    found: bool
    value: Any = None

"""Structured outputs of the MCP tools (their JSON Schemas are the tools' ``outputSchema``).

Every output says how the call was served: ``served_by`` is ``"daemon"`` (the
shared daemon's engine) or ``"local"`` (an in-process engine in the
``memoryd mcp`` process, used when the daemon failed); ``degraded`` is True
when the preferred path could not serve it and ``reason`` says why. Fields
whose value is ``null`` are left out of the JSON (every nullable field here
has a default): fewer tokens for the model, less for clients to validate.
Memories appear as :class:`MemoryView`: no vector (384 numbers of noise to an
agent), content hash or model bookkeeping.

The outputs that hold a list which can grow long (search hits, packed context snippets,
list pages, conversation turns) derive from :class:`Truncated` and name the list in
``CUT``: :func:`memoryd.mcp.results.fit_result` leaves items out of it when the result
would exceed ``Settings.mcp_max_result_bytes``.

Each output is built from a call's answer by :meth:`Served.of`; an output
that only holds the operation's answer is derived from the registry's
``response`` by :func:`answer_model`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self, cast

from pydantic import BaseModel, Field, create_model

from memoryd.client.routing import Routed
from memoryd.types import MemoryEntry, SearchMode

__all__ = [
    "NOT_SET",
    "ContextOutput",
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
    "answer_model",
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

    #: The field that holds the operation's answer (outputs of :func:`answer_model`).
    ANSWER: ClassVar[str]

    served_by: Literal["daemon", "local"] = Field(
        description="'daemon': the shared memoryd daemon; 'local': this process's own engine."
    )
    degraded: bool = Field(description="True when the daemon could not serve the call.")
    reason: str | None = Field(default=None, description="Why the call was degraded or re-routed.")

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """The output of a call (``arguments``: the tool's, validated): its answer as ``ANSWER``.

        Outputs of another shape override it.
        """
        return cls(**{cls.ANSWER: routed.value}, **served(routed))


def served(routed: Routed[Any]) -> dict[str, Any]:
    """The :class:`Served` fields of a routed call, as keyword arguments."""
    return {"served_by": routed.served_by, "degraded": routed.degraded, "reason": routed.reason}


#: What ``state_get`` passes as ``get_state``'s default: the answer when the key is not set.
NOT_SET: Any = object()


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


# Field by field on purpose: it runs for every memory of every result, and derived forms (a
# loop over the fields; validators on MemoryView, run again by the SDK's check) are slower.
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

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """The memory the call answered (a ``MemoryEntry``), as the agent's view."""
        return cls(memory=entry_out(routed.value), **served(routed))


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

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """The hits of a ``SearchResult``, each memory as the agent's view."""
        result = routed.value
        return cls(
            hits=[HitOutput(memory=entry_out(hit.entry), score=hit.score) for hit in result.hits],
            mode=result.mode,
            took_ms=result.took_ms,
            notes=result.notes,
            **served(routed),
        )


class SnippetView(BaseModel):
    """One packed snippet: its text and the ids it cites (the shown one first)."""

    ids: list[str]
    text: str
    tokens: int
    truncated: bool = False
    session_id: str | None = None
    created_at: str = Field(description="ISO 8601, UTC.")


class ContextOutput(Served, Truncated):
    """Memories for a query packed into a token budget, in reading order, each cited by id."""

    # Cut to fit (a budget near the limit with long ids lists): the last snippets go.
    CUT: ClassVar[Cut] = Cut("snippets", "first")

    snippets: list[SnippetView]
    tokens_used: int = Field(description="Tokens of the snippets' text (the model's tokenizer).")
    budget_tokens: int
    left_out: int = Field(description="Snippets that did not fit in the budget.")
    merged: int = Field(description="Near-duplicate memories merged into another snippet.")
    notes: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """The snippets of a ``PackedContext``, ids and times as text."""
        packed = routed.value
        snippets = [
            SnippetView(
                ids=[str(i) for i in s.ids],
                text=s.text,
                tokens=s.tokens,
                truncated=s.truncated,
                session_id=s.session_id,
                created_at=s.created_at.isoformat(),
            )
            for s in packed.snippets
        ]
        return cls(
            snippets=snippets,
            tokens_used=packed.tokens_used,
            budget_tokens=packed.budget_tokens,
            left_out=packed.left_out,
            merged=packed.merged,
            notes=packed.notes,
            **served(routed),
        )


class DeleteOutput(Served):
    """The outcome of a delete."""

    id: str
    deleted: bool

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """The memory ``arguments["id"]`` is deleted (a delete that fails raises)."""
        return cls(id=arguments["id"], deleted=True, **served(routed))


class ListOutput(Served, Truncated):
    """One page of memories, newest first; pass ``next_cursor`` to get the next page."""

    # Cut to fit, the page is fetched again with fewer items, so next_cursor
    # continues right after its last item and no memory is skipped.
    CUT: ClassVar[Cut] = Cut("items", "first", refetch="limit")

    items: list[MemoryView]
    next_cursor: str | None = None

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """A ``Page``'s items as the agent's views, and its cursor."""
        page = routed.value
        items = [entry_out(entry) for entry in page.items]
        return cls(items=items, next_cursor=page.next_cursor, **served(routed))


class MessagesOutput(Served, Truncated):
    """Conversation turns of one session, oldest first."""

    CUT: ClassVar[Cut] = Cut("messages", "last")  # cut to fit: the oldest turns go

    session_id: str
    messages: list[MemoryView]

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """The turns (``MemoryEntry`` list) of session ``arguments["session_id"]``."""
        messages = [entry_out(entry) for entry in routed.value]
        return cls(session_id=arguments["session_id"], messages=messages, **served(routed))


class StateOutput(Served):
    """A session-state value (``found`` is False when the key is not set)."""

    session_id: str
    key: str
    found: bool
    value: Any = None

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """The value set (``state_set``'s argument) or read (the answer; :data:`NOT_SET`: none)."""
        value = arguments.get("value", routed.value)
        found = value is not NOT_SET
        return cls(
            session_id=arguments["session_id"],
            key=arguments["key"],
            found=found,
            value=value if found else None,
            **served(routed),
        )


@functools.cache
def answer_model(
    name: str, field: str, doc: str, response: Any, *, cut: Cut | None = None
) -> type[Served]:
    """An output model holding an operation's answer, of type ``response``, in ``field``.

    ``name`` and ``doc`` are the schema's ``title`` and ``description``; with
    ``cut`` the model is :class:`Truncated` too and the ``field`` list is cut
    to fit. The same arguments give the same model.
    """
    bases: tuple[type[BaseModel], ...] = (Served,) if cut is None else (Served, Truncated)
    fields: dict[str, Any] = {field: (response, ...)}
    model = cast(type[Served], create_model(name, __base__=bases, __doc__=doc, **fields))
    model.ANSWER = field
    if cut is not None:
        model.CUT = cut  # type: ignore[attr-defined]
    return model

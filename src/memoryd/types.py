"""Pydantic models shared by every layer and every face.

Times are timezone-aware UTC ``datetime`` values on the wire (ISO 8601) and
unix seconds (float) on disk. Vectors are lists of floats on the wire and
little-endian float32 BLOBs on disk (see ``store/sqlite.py``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "KINDS",
    "Condition",
    "ContextSnippet",
    "Filter",
    "KeywordBackend",
    "Kind",
    "MemoryEntry",
    "MemoryInput",
    "MemoryPatch",
    "Metadata",
    "PackedContext",
    "Page",
    "ScoreExplain",
    "SearchHit",
    "SearchMode",
    "SearchParams",
    "SearchResult",
    "UtcDatetime",
    "check_metadata",
    "utcnow",
]

Kind = Literal["memory", "message", "state", "kv", "chunk", "episode", "pattern"]
KINDS: tuple[str, ...] = get_args(Kind)
SearchMode = Literal["hybrid", "vector", "keyword"]
#: What ranks keyword searches: the in-memory BM25 index, FTS5 while it is built, or FTS5.
KeywordBackend = Literal["memory", "building", "fts5"]
FilterOp = Literal["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains"]

#: Namespaces: 1-128 chars of letters, digits and ``._:@/-``.
NAMESPACE_PATTERN = r"^[A-Za-z0-9._:@/\-]{1,128}$"
#: Filter field names: dotted paths of identifiers (``metadata`` keys or columns).
FIELD_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
#: Largest accepted ``content`` (characters). Bigger texts belong in chunks.
MAX_CONTENT_CHARS = 100_000
#: Largest accepted ``metadata``: UTF-8 bytes of its compact JSON text.
MAX_METADATA_BYTES = 100_000
#: Deepest accepted nesting of objects and arrays in ``metadata``.
MAX_METADATA_DEPTH = 32
#: Most tags on one entry, episode or pattern (each tag 1-64 characters).
MAX_TAGS = 64
#: Longest accepted ``ttl_seconds`` (100 years): expiry times must stay representable.
MAX_TTL_SECONDS = 3_155_760_000.0


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _check_content(value: str) -> str:
    if not value.strip():
        raise ValueError("content must not be blank")
    if "\x00" in value:
        raise ValueError("content must not contain NUL characters")
    return value


def _clean_tags(value: list[str]) -> list[str]:
    out: list[str] = []
    for tag in value:
        tag = tag.strip()
        if not tag or len(tag) > 64:
            raise ValueError("tags must be 1-64 characters")
        try:
            tag.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: SQLite cannot store it
            raise ValueError("tags must be valid Unicode text (no lone surrogates)") from exc
        if tag not in out:
            out.append(tag)
    return out


def check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    """Return ``value`` if it is plain JSON within the depth and size limits.

    Raises:
        ValueError: a non-JSON value (set, bytes, NaN...), nesting deeper than
            :data:`MAX_METADATA_DEPTH` or more than :data:`MAX_METADATA_BYTES`.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # iterative: a deep value must not exhaust the interpreter stack
        node, depth = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            raise ValueError(f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list, tuple)))
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be plain JSON: {exc}") from None
    if len(text.encode("utf-8")) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is larger than {MAX_METADATA_BYTES} bytes as JSON")
    return value


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: A JSON object checked by :func:`check_metadata` (``metadata``, a step's ``parameters``).
Metadata = Annotated[dict[str, Any], AfterValidator(check_metadata)]
#: A ``datetime`` made timezone-aware: a naive one is taken as UTC (pydantic's
#: ``AwareDatetime`` refuses it instead).
UtcDatetime = Annotated[datetime, AfterValidator(_aware)]
#: An entry's text: not blank, no NUL characters.
Content = Annotated[
    str, Field(min_length=1, max_length=MAX_CONTENT_CHARS), AfterValidator(_check_content)
]
#: Tags, each stripped to 1-64 characters, duplicates dropped.
Tags = Annotated[list[str], Field(max_length=MAX_TAGS), AfterValidator(_clean_tags)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MemoryInput(_Model):
    """What a caller sends to save one memory.

    ``vector`` saves a precomputed embedding (its length must equal the
    store's dimension, else ``DimensionMismatch``). ``ttl_seconds`` and
    ``expires_at`` are exclusive ways to set an expiry. ``created_at`` may be
    given to import history (defaults to now).
    """

    content: Content
    kind: Kind = "memory"
    namespace: str = Field(default="default", pattern=NAMESPACE_PATTERN)
    session_id: str | None = Field(default=None, max_length=256)
    agent_id: str | None = Field(default=None, max_length=256)
    user_id: str | None = Field(default=None, max_length=256)
    metadata: Metadata = Field(default_factory=dict)
    tags: Tags = Field(default_factory=list)
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    created_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None
    ttl_seconds: float | None = Field(default=None, gt=0, le=MAX_TTL_SECONDS)
    vector: list[float] | None = None
    id: UUID | None = None

    @model_validator(mode="after")
    def _one_expiry(self) -> MemoryInput:
        if self.ttl_seconds is not None and self.expires_at is not None:
            raise ValueError("give ttl_seconds or expires_at, not both")
        return self


class MemoryPatch(_Model):
    """Fields of an entry that ``update`` may change in place (``None`` = keep).

    Changing ``content`` re-embeds and re-indexes the entry; to keep the old
    text as history use ``supersede`` instead.
    """

    content: Content | None = None
    metadata: Metadata | None = None
    tags: Tags | None = None
    importance: float | None = Field(default=None, ge=0.0, le=1.0)
    expires_at: UtcDatetime | None = None
    ttl_seconds: float | None = Field(default=None, gt=0, le=MAX_TTL_SECONDS)
    vector: list[float] | None = None


class MemoryEntry(_Model):
    """One stored record, as every face returns it.

    ``vector`` is only filled when explicitly asked for (export).
    """

    id: UUID
    content: str
    kind: Kind
    namespace: str
    session_id: str | None = None
    agent_id: str | None = None
    user_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    importance: float = 0.5
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None
    content_hash: str
    embedding_model: str | None = None
    dim: int | None = None
    supersedes: UUID | None = None
    superseded_by: UUID | None = None
    vector: list[float] | None = None


class Condition(_Model):
    """One metadata/column comparison: ``{"field": "speaker", "op": "eq", "value": "Ann"}``.

    ``field`` names a column (``agent_id``, ``user_id``, ``session_id``,
    ``kind``, ``importance``) or a dotted path into ``metadata``
    (``"project.name"``; a leading ``metadata.`` is optional). ``contains``
    matches a substring of a string value or an element of a list value.
    """

    field: str = Field(min_length=1, max_length=128)
    op: FilterOp = "eq"
    value: Any = None

    @field_validator("field")
    @classmethod
    def _field_ok(cls, value: str) -> str:
        if not FIELD_PATTERN.match(value):
            raise ValueError("field must be a dotted path of identifiers")
        return value

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in ("in", "nin"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"op {self.op!r} needs a non-empty list value")
        elif isinstance(self.value, (dict, list)):
            raise ValueError(f"op {self.op!r} needs a scalar value")
        return self


class Filter(_Model):
    """A boolean tree of :class:`Condition` leaves.

    Exactly one of ``and``, ``or``, ``not`` or a condition (``field``/``op``/
    ``value``) is set. Example::

        {"and": [{"field": "speaker", "value": "Ann"},
                 {"not": {"field": "topic", "op": "in", "value": ["work"]}}]}
    """

    and_: list[Filter] | None = Field(default=None, alias="and", max_length=64)
    or_: list[Filter] | None = Field(default=None, alias="or", max_length=64)
    not_: Filter | None = Field(default=None, alias="not")
    field: str | None = None
    op: FilterOp = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Filter:
        forms = [self.and_ is not None, self.or_ is not None, self.not_ is not None]
        forms.append(self.field is not None)
        if sum(forms) != 1:
            raise ValueError("a filter node has exactly one of: and, or, not, field")
        if self.field is not None:
            Condition(field=self.field, op=self.op, value=self.value)
        return self

    def depth(self) -> int:
        """Nesting depth of the tree (a leaf is 1)."""
        children = [*(self.and_ or []), *(self.or_ or [])]
        if self.not_ is not None:
            children.append(self.not_)
        return 1 + max((child.depth() for child in children), default=0)


class SearchParams(_Model):
    """A search request.

    * ``mode``: ``hybrid`` (BM25 + vector, fused), ``vector`` or ``keyword``.
    * ``recency_weight`` / ``importance_weight``: 0..1 share of the final score
      given to recency (exponential decay with ``recency_half_life_days``) and
      to the entry's importance; 0 disables the term.
    * ``diversity``: MMR trade-off λ in 0..1 (1 = pure relevance; Carbonell &
      Goldstein 1998); ``None`` disables MMR.
    * ``min_score``: drop hits whose final score (0..1) is lower.
    * ``since`` / ``until``: bounds on ``created_at`` (inclusive / exclusive).
    """

    query: str = Field(min_length=1, max_length=4096)
    namespace: str = Field(default="default", pattern=NAMESPACE_PATTERN)
    kinds: list[Kind] | None = None
    filter: Filter | None = None
    tags: list[str] | None = None
    session_id: str | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    mode: SearchMode = "hybrid"
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    recency_weight: float = Field(default=0.0, ge=0.0, le=1.0)
    recency_half_life_days: float = Field(default=30.0, gt=0)
    importance_weight: float = Field(default=0.0, ge=0.0, le=1.0)
    diversity: float | None = Field(default=None, ge=0.0, le=1.0)
    include_superseded: bool = False
    explain: bool = False

    @field_validator("filter")
    @classmethod
    def _shallow(cls, value: Filter | None) -> Filter | None:
        if value is not None and value.depth() > 16:
            raise ValueError("filter nesting deeper than 16 levels")
        return value


class ScoreExplain(_Model):
    """The parts of a hit's score (``explain=True``).

    Ranks are 1-based positions in each candidate list (``None`` = absent).
    ``fusion`` is the normalised fused relevance in 0..1; ``final`` is what
    ``score`` reports after recency, importance and MMR.
    """

    bm25_rank: int | None = None
    bm25_score: float | None = None
    vector_rank: int | None = None
    vector_score: float | None = None
    fusion: float
    recency: float | None = None
    importance: float | None = None
    mmr: float | None = None
    final: float


class SearchHit(_Model):
    """One search result: the entry, its score in 0..1 and optionally its parts."""

    entry: MemoryEntry
    score: float
    explain: ScoreExplain | None = None


class SearchResult(_Model):
    """Hits, best first, with how they were produced.

    ``degraded`` is true when part of the pipeline could not run (e.g. the
    embedding provider is down and a hybrid search fell back to BM25);
    ``notes`` says why.
    """

    hits: list[SearchHit]
    mode: SearchMode
    took_ms: float
    backend: str = "sqlite"
    degraded: bool = False
    notes: list[str] = Field(default_factory=list)


class ContextSnippet(_Model):
    """One packed snippet: a memory's text (maybe cut), with the ids it cites.

    ``ids`` holds the entry whose text is shown first, then the
    near-duplicates merged into it, best-ranked first. ``session_id``,
    ``created_at`` and ``kind`` are the shown entry's. ``rank`` is the
    1-based search rank of its best hit, ``score`` that hit's score (0..1).
    ``tokens`` counts ``text`` with the embedding model's tokenizer;
    ``truncated`` is true when ``text`` is the entry's content cut at a
    token boundary to fit the budget.
    """

    ids: list[UUID]
    text: str
    tokens: int
    truncated: bool = False
    kind: Kind
    session_id: str | None = None
    created_at: datetime
    rank: int
    score: float


class PackedContext(_Model):
    """The result of ``Memory.pack_context``: snippets in reading order and the budget's account.

    ``tokens_used`` is the sum of the snippets' ``tokens`` (never above
    ``budget_tokens``); ``left_out`` counts the snippets (after merging)
    that did not fit; ``merged`` counts the hits merged into another
    snippet. ``mode``, ``degraded`` and ``notes`` are the search's.
    """

    snippets: list[ContextSnippet]
    tokens_used: int = Field(ge=0)
    budget_tokens: int
    left_out: int = Field(ge=0)
    merged: int = Field(ge=0)
    mode: SearchMode
    degraded: bool = False
    notes: list[str] = Field(default_factory=list)


class Page(_Model):
    """A page of entries, newest first; pass ``next_cursor`` back for the next one."""

    items: list[MemoryEntry]
    next_cursor: str | None = None

"""Pydantic models of the self-learning layer: episodes, steps, outcomes, rewards, patterns.

Names follow the field (and the anchor, d-o-hub/rust-self-learning-memory):
an **episode** is one attempt at a task; it has ordered **steps** (tool calls)
and ends with an **outcome**; completion computes a **reward** (rule-based,
with its components) and a **reflection**; background extraction turns
completed episodes into **patterns** (tool sequences, decision points, error
recoveries, context patterns) that are recommended to later tasks.

Times are timezone-aware UTC ``datetime`` values on the wire and unix seconds
on disk. Latencies are milliseconds; durations seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from memoryd.bounds import MAX_STEP_TOKENS
from memoryd.errors import ValidationError
from memoryd.types import MAX_TAGS, NAMESPACE_PATTERN, Metadata

__all__ = [
    "AbstainedOutcome",
    "CompletionResult",
    "ContextResult",
    "DecayReport",
    "Episode",
    "EpisodeInput",
    "EpisodeMatch",
    "EpisodePage",
    "EpisodePatch",
    "ExtractionReport",
    "ExtractionStatus",
    "FailureOutcome",
    "FeedbackInput",
    "HandoffPack",
    "Outcome",
    "PartialOutcome",
    "Pattern",
    "PatternAnalysis",
    "PatternEffectiveness",
    "PatternKind",
    "PatternMatch",
    "Reflection",
    "RewardScore",
    "SeriesAnalysis",
    "Step",
    "StepInput",
    "StepResult",
    "SuccessOutcome",
    "TaskContext",
    "TaskType",
    "coerce_outcome",
    "coerce_steps",
    "coerce_model",
]

TaskType = Literal[
    "code_generation", "debugging", "refactoring", "testing", "analysis", "documentation", "other"
]
Complexity = Literal["simple", "moderate", "complex"]
StepStatus = Literal["success", "error", "timeout"]
PatternKind = Literal["tool_sequence", "decision_point", "error_recovery", "context_pattern"]
EpisodeStatus = Literal["running", "completed"]

_SHORT = 256
_TEXT = 10_000


class _StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskContext(_StrictModel):
    """Where a task happens: ``language``, ``framework``, ``complexity``, free ``tags``."""

    language: str | None = Field(default=None, max_length=_SHORT)
    framework: str | None = Field(default=None, max_length=_SHORT)
    complexity: Complexity = "moderate"
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)


class StepResult(_StrictModel):
    """Result of one step: ``success`` (with ``output``), ``error`` or ``timeout`` (``message``)."""

    status: StepStatus
    output: str | None = Field(default=None, max_length=_TEXT)
    message: str | None = Field(default=None, max_length=_TEXT)


class StepInput(_StrictModel):
    """One step an agent logs: a tool call and its result.

    ``latency_ms`` is milliseconds; ``tokens`` the LLM tokens the step used.
    """

    tool: str = Field(min_length=1, max_length=_SHORT)
    action: str = Field(min_length=1, max_length=_TEXT)
    parameters: Metadata = Field(default_factory=dict)
    result: StepResult
    latency_ms: float = Field(default=0.0, ge=0.0, le=86_400_000.0)
    tokens: int = Field(default=0, ge=0, le=MAX_STEP_TOKENS)


class Step(StepInput):
    """A stored step: its 1-based ``number`` in the episode and when it was logged."""

    number: int
    created_at: datetime


class SuccessOutcome(_StrictModel):
    """The task succeeded: a ``verdict`` and the ``artifacts`` produced (paths, URLs)."""

    type: Literal["success"] = "success"
    verdict: str = Field(min_length=1, max_length=_TEXT)
    artifacts: list[str] = Field(default_factory=list, max_length=256)


class PartialOutcome(_StrictModel):
    """Part of the task got done: ``completed`` and ``failed`` sub-goals."""

    type: Literal["partial"] = "partial"
    verdict: str = Field(default="", max_length=_TEXT)
    completed: list[str] = Field(default_factory=list, max_length=256)
    failed: list[str] = Field(default_factory=list, max_length=256)


class FailureOutcome(_StrictModel):
    """The task failed, for ``reason``."""

    type: Literal["failure"] = "failure"
    reason: str = Field(min_length=1, max_length=_TEXT)
    details: str | None = Field(default=None, max_length=_TEXT)


class AbstainedOutcome(_StrictModel):
    """The agent chose not to finish the task (unsafe, out of scope, not enough information)."""

    type: Literal["abstained"] = "abstained"
    reason: str = Field(min_length=1, max_length=_TEXT)


Outcome = Annotated[
    SuccessOutcome | PartialOutcome | FailureOutcome | AbstainedOutcome,
    Field(discriminator="type"),
]


class RewardScore(BaseModel):
    """The reward of a completed episode and its components (see ``learning/reward.py``).

    ``total = base × efficiency × complexity × quality + learning_bonus``.
    ``notes`` say which rules applied (e.g. why efficiency stayed neutral).
    """

    total: float
    base: float
    efficiency: float
    complexity: float
    quality: float
    learning_bonus: float
    duration_s: float
    step_count: int
    error_rate: float
    notes: list[str] = Field(default_factory=list)


class Reflection(BaseModel):
    """What went well, what to improve, and insights drawn from the steps and outcome."""

    successes: list[str] = Field(default_factory=list)
    improvements: list[str] = Field(default_factory=list)
    insights: list[str] = Field(default_factory=list)


class EpisodeInput(_StrictModel):
    """What ``start_episode`` takes (the REST body of ``POST /v1/episodes``)."""

    task_description: str = Field(min_length=1, max_length=_TEXT)
    domain: str = Field(default="general", min_length=1, max_length=_SHORT)
    task_type: TaskType = "other"
    context: TaskContext = Field(default_factory=TaskContext)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    metadata: Metadata = Field(default_factory=dict)
    agent_id: str | None = Field(default=None, max_length=_SHORT)
    namespace: str = Field(default="default", pattern=NAMESPACE_PATTERN)


class EpisodePatch(_StrictModel):
    """``update_episode``: replace ``tags`` and/or merge keys into ``metadata``."""

    tags: list[str] | None = Field(default=None, max_length=MAX_TAGS)
    metadata: Metadata | None = None


class Episode(BaseModel):
    """One attempt at a task. ``steps`` is empty in listings (``step_count`` still counts)."""

    id: UUID
    namespace: str
    task_description: str
    domain: str
    task_type: TaskType
    context: TaskContext
    status: EpisodeStatus
    agent_id: str | None = None
    steps: list[Step] = Field(default_factory=list)
    step_count: int = 0
    outcome: Outcome | None = None
    reward: RewardScore | None = None
    reflection: Reflection | None = None
    applied_patterns: list[UUID] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    completed_at: datetime | None = None
    updated_at: datetime
    extracted: bool = False


class EpisodePage(BaseModel):
    """A page of episodes, newest first; pass ``next_cursor`` back for the next page."""

    items: list[Episode]
    next_cursor: str | None = None


class ExtractionStatus(BaseModel):
    """Whether completion queued pattern extraction, and if not, why (never silent)."""

    queued: bool
    reason: str | None = None


class CompletionResult(BaseModel):
    """``complete_episode``: the completed episode (reward, reflection) and extraction status."""

    episode: Episode
    extraction: ExtractionStatus


class PatternEffectiveness(BaseModel):
    """Feedback on a pattern: how often it was retrieved, applied, and how that went.

    ``success_when_applied`` is ``applied_successes / applied_known`` (``None``
    before any feedback with a known result); ``reward_delta`` is the mean
    reward when applied minus the pattern's mean source-episode reward.
    """

    retrieved: int = 0
    applied: int = 0
    applied_successes: int = 0
    applied_failures: int = 0
    success_when_applied: float | None = None
    mean_reward_when_applied: float | None = None
    reward_delta: float | None = None


class Pattern(BaseModel):
    """A learned pattern with its evidence.

    ``success_rate = successes / occurrences`` over distinct source episodes;
    ``wilson_lower_bound`` is the 95 % Wilson score lower bound of the
    combined evidence (sources + feedback, see ``learning/recommend.py``);
    ``decay`` is ``0.5 ** (days since last use / half-life)``, 1.0 = fresh.
    """

    id: UUID
    namespace: str
    kind: PatternKind
    key: str
    domain: str
    task_type: TaskType | None = None
    description: str
    data: dict[str, Any] = Field(default_factory=dict)
    occurrences: int
    successes: int
    success_rate: float
    wilson_lower_bound: float
    mean_reward: float
    effectiveness: PatternEffectiveness
    decay: float
    merged_keys: list[str] = Field(default_factory=list)
    archived: bool = False
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime


class PatternMatch(BaseModel):
    """A recommended pattern with its ranking parts (each 0..1) and the reasons in words."""

    pattern: Pattern
    score: float
    relevance: float
    effectiveness: float
    recency: float
    reasons: list[str]


class EpisodeMatch(BaseModel):
    """A past episode judged useful for a new task, with its score and the reasons."""

    episode: Episode
    score: float
    similarity: float
    reasons: list[str]


class ContextResult(BaseModel):
    """``retrieve_context``: useful past episodes and patterns for a task, best first."""

    task: str
    episodes: list[EpisodeMatch]
    patterns: list[PatternMatch]


class FeedbackInput(_StrictModel):
    """``record_feedback``: whether a pattern was applied, whether that worked, the reward."""

    applied: bool = True
    success: bool | None = None
    reward: float | None = Field(default=None, ge=-10.0, le=10.0)
    episode_id: UUID | None = None


class HandoffPack(BaseModel):
    """Everything another agent needs to resume an episode.

    ``episode`` carries every step so far; ``errors`` the steps that failed;
    ``recommended`` patterns for the task; ``note`` the checkpoint's message.
    """

    episode: Episode
    checkpoint: int
    note: str
    agent_id: str | None
    created_at: datetime
    errors: list[Step]
    recommended: list[PatternMatch]


class ExtractionReport(BaseModel):
    """One extraction pass: episodes processed, patterns created/updated/merged, queue left."""

    episodes: int = 0
    patterns_created: int = 0
    patterns_updated: int = 0
    patterns_merged: int = 0
    queue_remaining: int = 0


class DecayReport(BaseModel):
    """``decay_patterns``: patterns checked, and those archived (decayed score < threshold)."""

    checked: int
    archived: list[UUID]


class PatternAnalysis(BaseModel):
    """``analyze_patterns``: the matching patterns (best first) and statistics over them."""

    task_type: TaskType | None
    min_success_rate: float
    count: int
    by_kind: dict[str, int]
    total_occurrences: int
    mean_success_rate: float | None
    mean_wilson_lower_bound: float | None
    patterns: list[Pattern]


class SeriesAnalysis(BaseModel):
    """``advanced_pattern_analysis``: per-series results of one analysis ``kind``.

    ``results`` maps a series name (or ``"x->y"`` for causality) to that
    analysis' fields; ``notes`` carries fitting warnings (never dropped).
    """

    kind: str
    alpha: float
    results: dict[str, dict[str, Any]]
    notes: list[str] = Field(default_factory=list)


M = TypeVar("M", bound=BaseModel)


def coerce_model(cls: type[M], value: M | dict[str, Any] | None, what: str, **fields: Any) -> M:
    """``value`` (a model, a dict or ``None``) plus ``fields`` validated as ``cls``.

    Raises:
        ValidationError: the data does not fit ``cls`` (message names ``what``).
    """
    try:
        if isinstance(value, cls) and not fields:
            return value
        data = value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value
        return cls.model_validate({**(data or {}), **fields})
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid {what}: {exc}") from exc


def coerce_steps(steps: Iterable[StepInput | dict[str, Any]]) -> list[StepInput]:
    """``log_steps``' ``steps`` (models or dicts) validated as :class:`StepInput`: 1 to 1000.

    Raises:
        ValidationError: an invalid step, no step, or more than 1000.
    """
    items = [coerce_model(StepInput, s, "step") for s in steps]
    if not items:
        raise ValidationError("at least one step is required")
    if len(items) > 1000:
        raise ValidationError("at most 1000 steps per call", steps=len(items))
    return items


_OUTCOME: TypeAdapter[Outcome] = TypeAdapter(Outcome)


def coerce_outcome(outcome: Outcome | dict[str, Any]) -> Outcome:
    """``complete_episode``'s ``outcome`` (a model or a dict) as an :data:`Outcome`.

    Raises:
        ValidationError: the dict is not a valid outcome.
    """
    try:
        return outcome if not isinstance(outcome, dict) else _OUTCOME.validate_python(outcome)
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid outcome: {exc}") from exc

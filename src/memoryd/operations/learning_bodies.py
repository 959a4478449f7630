"""Request bodies of the self-learning routes (episodes, patterns and their analyses).

Engine models (``EpisodeInput``, ``EpisodePatch``, ``FeedbackInput`` and the
results) are used as they are; these are the bodies that only the REST face has.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field

from memoryd.bounds import MAX_ANALYSIS_SERIES, MAX_SERIES_POINTS
from memoryd.learning.models import Outcome, PatternKind, StepInput, TaskContext
from memoryd.operations.bodies import _Body

__all__ = [
    "AnalyzeBody",
    "CheckpointBody",
    "CompleteBody",
    "ContextQuery",
    "DecayBody",
    "ExtractBody",
    "RecommendBody",
    "ResumeBody",
    "SearchBody",
    "SeriesBody",
    "StepsBody",
]


class StepsBody(_Body):
    """``POST /v1/episodes/{id}/steps``: 1 to 1,000 steps, committed together."""

    steps: list[StepInput] = Field(min_length=1, max_length=1000)


class CompleteBody(_Body):
    """``POST /v1/episodes/{id}/complete``: the outcome and the patterns the agent applied."""

    outcome: Outcome
    applied_patterns: list[UUID] = Field(default_factory=list, max_length=1000)


class CheckpointBody(_Body):
    """``POST /v1/episodes/{id}/checkpoint``: a note for the next agent."""

    note: str = Field(default="", max_length=10_000)
    agent_id: str | None = Field(default=None, max_length=256)


class ResumeBody(_Body):
    """``POST /v1/episodes/{id}/resume``: the agent taking the episode over."""

    agent_id: str | None = Field(default=None, max_length=256)


class ContextQuery(_Body):
    """``POST /v1/context``: a new task and its scope."""

    task: str = Field(min_length=1, max_length=10_000)
    domain: str | None = None
    task_type: str | None = None
    context: TaskContext | None = None
    limit: int = 5


class RecommendBody(_Body):
    """``POST /v1/patterns/recommend``: the task and its scope."""

    task: str = Field(min_length=1, max_length=10_000)
    domain: str | None = None
    task_type: str | None = None
    kinds: list[PatternKind] | None = None
    limit: int = 5


class SearchBody(_Body):
    """``POST /v1/patterns/search``: text to match pattern descriptions against."""

    query: str = Field(min_length=1, max_length=10_000)
    domain: str | None = None
    kinds: list[PatternKind] | None = None
    limit: int = 10


class ExtractBody(_Body):
    """``POST /v1/patterns/extract``: drain at most ``limit`` queued episodes (all if null)."""

    limit: int | None = None


class DecayBody(_Body):
    """``POST /v1/patterns/decay``: archive thresholds (score 0..1, age in days)."""

    min_score: float = 0.05
    min_age_days: float = 30.0
    dry_run: bool = False


class AnalyzeBody(_Body):
    """``POST /v1/patterns/analyze``: filters of ``analyze_patterns``."""

    task_type: str | None = None
    min_success_rate: float = 0.0
    limit: int = 20
    domain: str | None = None


class SeriesBody(_Body):
    """``POST /v1/analysis``: an analysis kind, named series and its config."""

    kind: str = Field(max_length=64)
    series: dict[str, Annotated[list[Any], Field(max_length=MAX_SERIES_POINTS)]] = Field(
        max_length=MAX_ANALYSIS_SERIES
    )
    config: dict[str, Any] | None = None

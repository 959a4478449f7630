"""Episodes and patterns for :class:`memoryd.Client`, mirroring ``memoryd.learning``.

Same methods, arguments, results and errors as ``Memory``: inputs are
validated locally with the engine's models (bad input raises
``ValidationError`` before any request), then sent to ``/v1/episodes``,
``/v1/context``, ``/v1/patterns`` and ``/v1/analysis``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import to_jsonable_python

from memoryd.client.core import ClientCore
from memoryd.client.transport import segment
from memoryd.errors import ValidationError
from memoryd.learning.models import (
    CompletionResult,
    ContextResult,
    DecayReport,
    Episode,
    EpisodeInput,
    EpisodePage,
    EpisodePatch,
    ExtractionReport,
    FeedbackInput,
    HandoffPack,
    Outcome,
    Pattern,
    PatternAnalysis,
    PatternKind,
    PatternMatch,
    SeriesAnalysis,
    Step,
    StepInput,
    TaskContext,
    coerce_model,
)

__all__ = ["ClientEpisodes", "ClientPatterns"]

_OUTCOME: TypeAdapter[Outcome] = TypeAdapter(Outcome)
_STEPS: TypeAdapter[list[Step]] = TypeAdapter(list[Step])
_MATCHES: TypeAdapter[list[PatternMatch]] = TypeAdapter(list[PatternMatch])
_PATTERNS: TypeAdapter[list[Pattern]] = TypeAdapter(list[Pattern])


def _id(value: UUID | str, what: str = "episode") -> str:
    try:
        return str(UUID(str(value)))
    except ValueError as exc:
        raise ValidationError(f"invalid {what} id {value!r}") from exc


class ClientEpisodes(ClientCore):
    """Episode lifecycle and ``retrieve_context`` over HTTP (see ``memoryd.learning.episodes``)."""

    def _episode_path(self, episode_id: UUID | str, tail: str = "") -> str:
        return f"/v1/episodes/{segment(_id(episode_id))}{tail}"

    def start_episode(
        self,
        task_description: str | EpisodeInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Start an episode for a task; returns it (status ``running``)."""
        if isinstance(task_description, str):
            data: Any = {"task_description": task_description}
        elif isinstance(task_description, dict):
            data = dict(task_description)
            namespace = data.pop("namespace", namespace)
        else:
            data = task_description.model_dump(exclude_unset=True)
            namespace = task_description.namespace
        item = coerce_model(EpisodeInput, data, "episode", **fields)
        body = item.model_dump(mode="json", exclude={"namespace"})
        payload = self._t.json("POST", "/v1/episodes", params={"namespace": namespace}, json=body)
        return Episode.model_validate(payload)

    def log_step(
        self,
        episode_id: UUID | str,
        step: StepInput | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Step:
        """Append one step; returns after the daemon committed it."""
        item = coerce_model(StepInput, step, "step", **fields)
        return self.log_steps(episode_id, [item], namespace=namespace)[0]

    def log_steps(
        self,
        episode_id: UUID | str,
        steps: Iterable[StepInput | dict[str, Any]],
        *,
        namespace: str = "default",
    ) -> builtins.list[Step]:
        """Append several steps in one transaction; returns them."""
        items = [coerce_model(StepInput, s, "step") for s in steps]
        if not items:
            raise ValidationError("at least one step is required")
        if len(items) > 1000:
            raise ValidationError("at most 1000 steps per call", steps=len(items))
        body = {"steps": [s.model_dump(mode="json") for s in items]}
        path = self._episode_path(episode_id, "/steps")
        return _STEPS.validate_python(
            self._t.json("POST", path, params={"namespace": namespace}, json=body)
        )

    def complete_episode(
        self,
        episode_id: UUID | str,
        outcome: Outcome | dict[str, Any],
        *,
        applied_patterns: Iterable[UUID | str] = (),
        namespace: str = "default",
    ) -> CompletionResult:
        """Complete an episode: reward, reflection, queued extraction (or why not)."""
        try:
            result = outcome if not isinstance(outcome, dict) else _OUTCOME.validate_python(outcome)
        except PydanticValidationError as exc:
            raise ValidationError(f"invalid outcome: {exc}") from exc
        body = {
            "outcome": result.model_dump(mode="json"),
            "applied_patterns": [_id(p, "pattern") for p in applied_patterns],
        }
        path = self._episode_path(episode_id, "/complete")
        data = self._t.json("POST", path, params={"namespace": namespace}, json=body)
        return CompletionResult.model_validate(data)

    def get_episode(
        self, episode_id: UUID | str, *, namespace: str = "default", include_steps: bool = True
    ) -> Episode:
        """The episode with its steps. Raises ``EpisodeNotFound``."""
        params = {"namespace": namespace, "include_steps": "true" if include_steps else "false"}
        return Episode.model_validate(
            self._t.json("GET", self._episode_path(episode_id), params=params)
        )

    def list_episodes(
        self,
        *,
        namespace: str = "default",
        domain: str | None = None,
        task_type: str | None = None,
        status: str | None = None,
        outcome: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> EpisodePage:
        """A page of episodes (without steps), newest first."""
        params: dict[str, Any] = {"namespace": namespace, "limit": limit}
        for name, value in (
            ("domain", domain),
            ("task_type", task_type),
            ("status", status),
            ("outcome", outcome),
            ("cursor", cursor),
        ):
            if value is not None:
                params[name] = value
        return EpisodePage.model_validate(self._t.json("GET", "/v1/episodes", params=params))

    def update_episode(
        self,
        episode_id: UUID | str,
        patch: EpisodePatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Replace ``tags`` and/or merge ``metadata`` keys."""
        change = coerce_model(EpisodePatch, patch, "episode update", **fields)
        data = self._t.json(
            "PATCH",
            self._episode_path(episode_id),
            params={"namespace": namespace},
            json=change.model_dump(mode="json", exclude_unset=True),
        )
        return Episode.model_validate(data)

    def delete_episode(self, episode_id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an episode, its steps and its evidence in patterns."""
        self._t.request("DELETE", self._episode_path(episode_id), params={"namespace": namespace})

    def checkpoint_episode(
        self,
        episode_id: UUID | str,
        *,
        note: str = "",
        agent_id: str | None = None,
        namespace: str = "default",
    ) -> HandoffPack:
        """Record a checkpoint of a running episode; returns its hand-off pack."""
        if len(note) > 10_000:
            raise ValidationError("note must be at most 10,000 characters")
        path = self._episode_path(episode_id, "/checkpoint")
        body = {"note": note, "agent_id": agent_id}
        return HandoffPack.model_validate(
            self._t.json("POST", path, params={"namespace": namespace}, json=body)
        )

    def resume_episode(
        self, episode_id: UUID | str, *, agent_id: str | None = None, namespace: str = "default"
    ) -> HandoffPack:
        """The hand-off pack to continue a running episode (``agent_id`` takes it over)."""
        path = self._episode_path(episode_id, "/resume")
        return HandoffPack.model_validate(
            self._t.json("POST", path, params={"namespace": namespace}, json={"agent_id": agent_id})
        )

    def retrieve_context(
        self,
        task: str,
        *,
        domain: str | None = None,
        task_type: str | None = None,
        context: TaskContext | dict[str, Any] | None = None,
        limit: int = 5,
        namespace: str = "default",
    ) -> ContextResult:
        """The most useful past episodes and patterns for a new task, with the reasons."""
        if not task.strip():
            raise ValidationError("the task text must not be empty")
        ctx = None if context is None else coerce_model(TaskContext, context, "context")
        body = {
            "task": task,
            "domain": domain,
            "task_type": task_type,
            "context": None if ctx is None else ctx.model_dump(mode="json"),
            "limit": limit,
        }
        data = self._t.json("POST", "/v1/context", params={"namespace": namespace}, json=body)
        return ContextResult.model_validate(data)


class ClientPatterns(ClientCore):
    """Recommendations, feedback, pattern reads, extraction, decay and analysis over HTTP."""

    def recommend_patterns(
        self,
        task: str,
        *,
        domain: str | None = None,
        task_type: str | None = None,
        kinds: Sequence[PatternKind] | None = None,
        limit: int = 5,
        namespace: str = "default",
    ) -> builtins.list[PatternMatch]:
        """Patterns for a task, best first (relevance, effectiveness, recency)."""
        if not task.strip():
            raise ValidationError("the task text must not be empty")
        body = {
            "task": task,
            "domain": domain,
            "task_type": task_type,
            "kinds": None if kinds is None else builtins.list(kinds),
            "limit": limit,
        }
        data = self._t.json(
            "POST", "/v1/patterns/recommend", params={"namespace": namespace}, json=body
        )
        return _MATCHES.validate_python(data)

    def search_patterns(
        self,
        query: str,
        *,
        domain: str | None = None,
        kinds: Sequence[PatternKind] | None = None,
        limit: int = 10,
        namespace: str = "default",
    ) -> builtins.list[PatternMatch]:
        """Patterns whose description is closest to ``query``."""
        if not query.strip():
            raise ValidationError("the task text must not be empty")
        body = {
            "query": query,
            "domain": domain,
            "kinds": None if kinds is None else builtins.list(kinds),
            "limit": limit,
        }
        data = self._t.json(
            "POST", "/v1/patterns/search", params={"namespace": namespace}, json=body
        )
        return _MATCHES.validate_python(data)

    def get_pattern(self, pattern_id: UUID | str, *, namespace: str = "default") -> Pattern:
        """One pattern (a merged id gives its survivor). Raises ``PatternNotFound``."""
        path = f"/v1/patterns/{segment(str(pattern_id))}"
        return Pattern.model_validate(self._t.json("GET", path, params={"namespace": namespace}))

    def list_patterns(
        self,
        *,
        namespace: str = "default",
        kinds: Sequence[PatternKind] | None = None,
        domain: str | None = None,
        task_type: str | None = None,
        include_archived: bool = False,
        limit: int = 100,
    ) -> builtins.list[Pattern]:
        """Live patterns, best Wilson lower bound first."""
        params: dict[str, Any] = {
            "namespace": namespace,
            "limit": limit,
            "include_archived": "true" if include_archived else "false",
        }
        if kinds:
            params["kinds"] = builtins.list(kinds)
        if domain is not None:
            params["domain"] = domain
        if task_type is not None:
            params["task_type"] = task_type
        return _PATTERNS.validate_python(self._t.json("GET", "/v1/patterns", params=params))

    def record_feedback(
        self,
        pattern_id: UUID | str,
        *,
        applied: bool = True,
        success: bool | None = None,
        reward: float | None = None,
        episode_id: UUID | str | None = None,
        namespace: str = "default",
    ) -> Pattern:
        """Record whether a pattern was applied and how it went; returns the pattern."""
        item = coerce_model(
            FeedbackInput,
            {"applied": applied, "success": success, "reward": reward, "episode_id": episode_id},
            "feedback",
        )
        path = f"/v1/patterns/{segment(str(pattern_id))}/feedback"
        data = self._t.json(
            "POST", path, params={"namespace": namespace}, json=item.model_dump(mode="json")
        )
        return Pattern.model_validate(data)

    def extract_patterns(self, *, limit: int | None = None) -> ExtractionReport:
        """Ask the daemon to drain its extraction queue now."""
        if limit is not None and limit < 1:
            raise ValidationError("limit must be positive", limit=limit)
        data = self._t.json("POST", "/v1/patterns/extract", json={"limit": limit})
        return ExtractionReport.model_validate(data)

    def decay_patterns(
        self,
        *,
        namespace: str = "default",
        min_score: float = 0.05,
        min_age_days: float = 30.0,
        dry_run: bool = False,
    ) -> DecayReport:
        """Archive patterns whose decayed effectiveness fell below ``min_score``."""
        body = {"min_score": min_score, "min_age_days": min_age_days, "dry_run": dry_run}
        data = self._t.json(
            "POST", "/v1/patterns/decay", params={"namespace": namespace}, json=body
        )
        return DecayReport.model_validate(data)

    def analyze_patterns(
        self,
        *,
        task_type: str | None = None,
        min_success_rate: float = 0.0,
        limit: int = 20,
        domain: str | None = None,
        namespace: str = "default",
    ) -> PatternAnalysis:
        """Patterns above a success rate, with statistics."""
        body = {
            "task_type": task_type,
            "min_success_rate": min_success_rate,
            "limit": limit,
            "domain": domain,
        }
        data = self._t.json(
            "POST", "/v1/patterns/analyze", params={"namespace": namespace}, json=body
        )
        return PatternAnalysis.model_validate(data)

    def advanced_pattern_analysis(
        self,
        kind: str,
        series: Mapping[str, Sequence[float]],
        config: Mapping[str, Any] | None = None,
    ) -> SeriesAnalysis:
        """Run one analysis kind over named series on the daemon (checked locally first)."""
        from memoryd.learning.analysis import validate_request  # numpy: only when used

        validate_request(kind, series, config)
        body = {
            "kind": kind,
            "series": {k: builtins.list(v) for k, v in series.items()},
            "config": None if config is None else dict(config),
        }
        data = self._t.json("POST", "/v1/analysis", json=to_jsonable_python(body))
        return SeriesAnalysis.model_validate(data)

"""The episodes component of ``Memory``: start, log steps, complete, read, update, delete, hand off.

Example::

    with Memory(data_dir="/tmp/mem") as memory:
        ep = memory.start_episode("Fix the failing login test", domain="web",
                                  task_type="debugging", context={"language": "python"})
        memory.log_step(ep.id, tool="run_tests", action="run the login tests",
                        result={"status": "error", "message": "AssertionError: 302 != 200"})
        memory.log_step(ep.id, tool="edit_file", action="fix the redirect",
                        result={"status": "success"})
        done = memory.complete_episode(ep.id, {"type": "success", "verdict": "tests pass"})
        done.episode.reward.total, done.episode.reflection.improvements

Durability: ``start_episode``, ``log_step``/``log_steps`` and
``complete_episode`` each return after their SQLite transaction committed
(``BEGIN IMMEDIATE`` on the single writer). ``log_steps`` is the batching
form: all its steps commit together before it returns.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable
from typing import Any, get_args
from uuid import UUID, uuid4

from memoryd.bounds import check_count
from memoryd.errors import EpisodeNotFound, ValidationError
from memoryd.learning.base import LearningParts
from memoryd.learning.models import (
    CompletionResult,
    ContextResult,
    Episode,
    EpisodeInput,
    EpisodeMatch,
    EpisodePage,
    EpisodePatch,
    EpisodeStatus,
    HandoffPack,
    Outcome,
    Step,
    StepInput,
    TaskContext,
    TaskType,
    coerce_model,
    coerce_outcome,
    coerce_steps,
)
from memoryd.learning.recommend import EpisodeScore, rank_patterns
from memoryd.learning.reflection import Reflector, reflect
from memoryd.learning.reward import compute_reward
from memoryd.store.rows import from_ts

__all__ = ["Episodes"]

_NO_STEPS = "no steps were logged, so there is no tool sequence, decision or recovery to learn from"


def _episode_reasons(hit: EpisodeScore, episode: Episode) -> list[str]:
    out = [f"similar task (cosine {hit.similarity:.2f})"]
    if hit.same_domain:
        out.append(f"same domain {episode.domain!r}")
    if hit.same_task_type:
        out.append(f"same task type {episode.task_type!r}")
    if episode.outcome is not None and episode.reward is not None:
        out.append(
            f"ended in {episode.outcome.type} with reward {episode.reward.total:.2f} "
            f"({hit.decayed_reward:.2f} after time decay)"
        )
    return out


class Episodes:
    """Episode lifecycle and ``retrieve_context`` (module docstring has an example).

    Args:
        learning: the learning stores, episode index, extraction worker and
            retrieval counters shared with the patterns component.
    """

    def __init__(self, learning: LearningParts) -> None:
        self.learning = learning
        self.episode_store = learning.episode_store
        self.pattern_store = learning.pattern_store
        self.episode_index = learning.episode_index
        self.reflector: Reflector | None = None
        """Optional provider (e.g. an LLM) that refines the rule-based reflection."""

    def _id(self, episode_id: UUID | str) -> str:
        try:
            return str(UUID(str(episode_id)))
        except ValueError as exc:
            raise ValidationError(f"invalid episode id {episode_id!r}") from exc

    def start_episode(
        self,
        task_description: str | EpisodeInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Start an episode for a task; returns it (status ``running``, no steps).

        Fields (keyword or in an :class:`EpisodeInput`/dict): ``domain``
        (default ``"general"``), ``task_type`` (``code_generation``,
        ``debugging``, ``refactoring``, ``testing``, ``analysis``,
        ``documentation``, ``other``), ``context`` (``language``,
        ``framework``, ``complexity``, ``tags``), ``tags``, ``metadata``,
        ``agent_id``. The task description is embedded for
        ``retrieve_context``; if the provider is down the episode is stored
        without a vector and embedded again at completion.

        Raises:
            ValidationError.
        """
        value = task_description
        if isinstance(value, str):
            value = {"task_description": value}
        if isinstance(value, dict):
            value = {"namespace": namespace, **value}
        item = coerce_model(EpisodeInput, value, "episode", **fields)
        id = str(uuid4())
        self.episode_store.insert(
            id, item, self.learning.task_vector(item.task_description), time.time()
        )
        return self.episode_store.get(id, item.namespace)

    def log_step(
        self,
        episode_id: UUID | str,
        step: StepInput | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Step:
        """Append one step (``tool``, ``action``, ``result``, ``parameters``, latency, tokens).

        Durable: returns after the step is committed. ``result`` is
        ``{"status": "success"|"error"|"timeout", "output": ..., "message": ...}``.

        Raises:
            ValidationError, EpisodeNotFound, EpisodeAlreadyCompleted.
        """
        return self.log_steps(
            episode_id, [coerce_model(StepInput, step, "step", **fields)], namespace=namespace
        )[0]

    def log_steps(
        self,
        episode_id: UUID | str,
        steps: Iterable[StepInput | dict[str, Any]],
        *,
        namespace: str = "default",
    ) -> builtins.list[Step]:
        """Append several steps in one transaction (committed before returning); returns them.

        Raises:
            ValidationError (nothing is stored then), EpisodeNotFound, EpisodeAlreadyCompleted.
        """
        items = coerce_steps(steps)
        return self.episode_store.append_steps(self._id(episode_id), namespace, items, time.time())

    def complete_episode(
        self,
        episode_id: UUID | str,
        outcome: Outcome | dict[str, Any],
        *,
        applied_patterns: Iterable[UUID | str] = (),
        namespace: str = "default",
    ) -> CompletionResult:
        """Complete an episode: reward, reflection, and queue pattern extraction (one transaction).

        ``outcome`` is ``{"type": "success", "verdict", "artifacts"}``,
        ``{"type": "partial", "completed", "failed"}``, ``{"type": "failure",
        "reason"}`` or ``{"type": "abstained", "reason"}``. Without steps
        nothing is queued and ``extraction.reason`` says why.

        Raises:
            ValidationError, EpisodeNotFound, EpisodeAlreadyCompleted.
        """
        result = coerce_outcome(outcome)
        id = self._id(episode_id)
        episode = self.episode_store.get(id, namespace)
        applied = [self._id(p) for p in applied_patterns]
        now = time.time()
        duration = max(0.0, now - episode.started_at.timestamp())
        medians = self.episode_store.domain_medians(namespace, episode.domain)
        reward = compute_reward(
            result,
            episode.steps,
            duration_s=duration,
            complexity=episode.context.complexity,
            medians=medians,
            applied_patterns=len(applied),
        )
        median_duration = medians[1] if medians[0] else None
        reflection = reflect(
            episode.task_description,
            episode.steps,
            result,
            reward,
            median_duration_s=median_duration,
        )
        if self.reflector is not None:
            reflection = self.reflector.refine(episode.task_description, episode.steps, reflection)
        completion = self.episode_store.complete(
            id,
            namespace,
            outcome=result,
            reward=reward,
            reflection=reflection,
            applied=applied,
            step_count=episode.step_count,
            vector=None
            if self.episode_store.has_vector(id)
            else self.learning.task_vector(episode.task_description),
            queue_reason=None if episode.steps else _NO_STEPS,
            now=now,
        )
        if completion.extraction.queued:
            self.learning.extraction_worker.wake()
        return completion

    def get_episode(
        self, episode_id: UUID | str, *, namespace: str = "default", include_steps: bool = True
    ) -> Episode:
        """The episode with its steps (``include_steps=False`` skips them).

        Raises:
            EpisodeNotFound.
        """
        return self.episode_store.get(self._id(episode_id), namespace, with_steps=include_steps)

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
        """A page of episodes (without steps), newest first, filtered by the given fields.

        ``status``: ``running``/``completed``; ``outcome``: an outcome type.
        Raises ``ValidationError`` (bad limit 1..1000 or cursor).
        """
        for name, value, allowed in (
            ("status", status, get_args(EpisodeStatus)),
            ("outcome", outcome, ("success", "partial", "failure", "abstained")),
            ("task_type", task_type, get_args(TaskType)),
        ):
            if value is not None and value not in allowed:
                raise ValidationError(
                    f"unknown {name} {value!r}; use one of {', '.join(allowed)}", **{name: value}
                )
        return self.episode_store.list(
            namespace,
            domain=domain,
            task_type=task_type,
            status=status,
            outcome=outcome,
            limit=limit,
            cursor=cursor,
        )

    def update_episode(
        self,
        episode_id: UUID | str,
        patch: EpisodePatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> Episode:
        """Replace ``tags`` and/or merge ``metadata`` keys.

        Raises:
            EpisodeNotFound, ValidationError.
        """
        change = coerce_model(EpisodePatch, patch, "episode update", **fields)
        id = self._id(episode_id)
        self.episode_store.update(id, namespace, change.tags, change.metadata, time.time())
        return self.episode_store.get(id, namespace)

    def delete_episode(self, episode_id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an episode, its steps and its evidence in patterns. Raises ``EpisodeNotFound``."""
        self.episode_store.delete(self._id(episode_id), namespace)
        self.episode_index.invalidate(namespace)

    def _handoff(self, id: str, namespace: str) -> HandoffPack:
        episode = self.episode_store.get(id, namespace)
        row = self.episode_store.last_checkpoint(id)
        recommended = self.recommend_for(episode)
        return HandoffPack(
            episode=episode,
            checkpoint=0 if row is None else row["seq"],
            note="" if row is None else row["note"],
            agent_id=episode.agent_id if row is None else row["agent_id"],
            created_at=episode.updated_at if row is None else from_ts(row["created_at"]),
            errors=[s for s in episode.steps if s.result.status != "success"],
            recommended=recommended,
        )

    def recommend_for(self, episode: Episode, limit: int = 3) -> builtins.list[Any]:
        """Top patterns for a running episode's task (used by hand-off packs)."""
        try:
            query = self.learning.query_vector(episode.task_description)
        except ValidationError:
            return []
        return rank_patterns(
            self.pattern_store,
            query,
            namespace=episode.namespace,
            domain=episode.domain,
            task_type=episode.task_type,
            kinds=None,
            limit=limit,
        )

    def checkpoint_episode(
        self,
        episode_id: UUID | str,
        *,
        note: str = "",
        agent_id: str | None = None,
        namespace: str = "default",
    ) -> HandoffPack:
        """Record a checkpoint of a running episode and return its hand-off pack.

        Raises:
            EpisodeNotFound, EpisodeAlreadyCompleted, ValidationError (note over 10,000 chars).
        """
        if len(note) > 10_000:
            raise ValidationError("note must be at most 10,000 characters")
        id = self._id(episode_id)
        self.episode_store.add_checkpoint(id, namespace, note, agent_id, time.time())
        return self._handoff(id, namespace)

    def resume_episode(
        self, episode_id: UUID | str, *, agent_id: str | None = None, namespace: str = "default"
    ) -> HandoffPack:
        """The hand-off pack to continue a running episode (``agent_id`` takes it over).

        Raises:
            EpisodeNotFound, EpisodeAlreadyCompleted.
        """
        id = self._id(episode_id)
        self.episode_store.add_checkpoint(
            id, namespace, f"resumed by {agent_id or 'an agent'}", agent_id, time.time()
        )
        return self._handoff(id, namespace)

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
        """The most useful past episodes and patterns for a new task, with the reasons.

        Episodes: completed ones ranked by task similarity, domain, task type
        and time-decayed reward; patterns: as ``recommend_patterns``
        (formulas in ``learning/recommend.py``). ``context`` is accepted for
        the anchor's signature and validated; ranking uses domain/task type.

        Raises:
            ValidationError (empty task, limit outside 1..100), BackendUnavailable, Timeout.
        """
        check_count(limit, "limit", high=100)
        if context is not None:
            coerce_model(TaskContext, context, "context")
        query = self.learning.query_vector(task)
        hits = self.episode_index.query(
            namespace, query, domain=domain, task_type=task_type, limit=limit
        )
        episodes: builtins.list[EpisodeMatch] = []
        for hit in hits:
            try:
                episode = self.episode_store.get(hit.id, namespace, with_steps=False)
            except EpisodeNotFound:
                continue  # deleted since the index was refreshed
            episodes.append(
                EpisodeMatch(
                    episode=episode,
                    score=round(hit.score, 6),
                    similarity=round(hit.similarity, 6),
                    reasons=_episode_reasons(hit, episode),
                )
            )
        patterns = rank_patterns(
            self.pattern_store,
            query,
            namespace=namespace,
            domain=domain,
            task_type=task_type,
            kinds=None,
            limit=limit,
            pending=self.learning.pending_retrievals(),
        )
        self.learning.count_retrievals([str(m.pattern.id) for m in patterns])
        return ContextResult(task=task, episodes=episodes, patterns=patterns)

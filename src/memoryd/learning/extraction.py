"""Heuristic pattern extractors: completed episode → pattern candidates (pure functions).

Four kinds, as in the anchor (d-o-hub/rust-self-learning-memory):

* ``tool_sequence``: the episode's tools in order (consecutive repeats
  collapsed, at most :data:`MAX_SEQUENCE` tools), per domain and task type.
* ``decision_point``: a step whose action is a check or a choice (``check``,
  ``verify``, ``if``, ``whether``, ``decide``, ``choose``, ``validate``,
  ``inspect``) and the tool the agent took next.
* ``error_recovery``: a failed or timed-out step, its error signature (the
  ``...Error``/``...Exception`` name in the message, ``timeout``, or the
  message's first words) and the steps up to the next success.
* ``context_pattern``: the task context (domain, task type, language,
  framework) whose success rate the pattern tracks.

Each candidate has a deterministic ``key`` (kind, domain, normalised
content), so extracting the same episode twice yields the same keys; the
store counts each ``(pattern, episode, key)`` once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from memoryd.learning.models import Episode, PatternKind, Step

__all__ = [
    "MAX_SEQUENCE",
    "PatternCandidate",
    "error_signature",
    "extract_candidates",
    "recoveries",
    "tool_sequence",
]

#: Longest tool sequence kept (longer episodes keep their first tools).
MAX_SEQUENCE = 8
_DECISION = re.compile(
    r"\b(if|whether|check|checks|verify|decide|choose|validate|inspect)\b", re.IGNORECASE
)
_ERROR_NAME = re.compile(r"\b([A-Z][A-Za-z0-9_]*(?:Error|Exception|Timeout|Failure))\b")
_WORD = re.compile(r"[a-z][a-z0-9_]*")


@dataclass
class PatternCandidate:
    """One pattern seen in one episode, before it is stored.

    ``key`` is ``kind|domain|...`` normalised text; ``description`` is the
    sentence that is embedded (for merging and relevance).
    """

    kind: PatternKind
    key: str
    domain: str
    task_type: str | None
    description: str
    data: dict[str, Any] = field(default_factory=dict)


def _words(text: str, limit: int) -> str:
    return " ".join(_WORD.findall(text.lower())[:limit])


def tool_sequence(steps: Sequence[Step]) -> list[str]:
    """Tools in order, consecutive repeats collapsed, at most :data:`MAX_SEQUENCE`."""
    out: list[str] = []
    for step in steps:
        if not out or out[-1] != step.tool:
            out.append(step.tool)
    return out[:MAX_SEQUENCE]


def error_signature(step: Step) -> str:
    """A short, stable name for a failed step's error (e.g. ``ImportError``, ``timeout``)."""
    text = step.result.message or step.result.output or ""
    named = _ERROR_NAME.search(text)
    if named:
        return named.group(1)
    if step.result.status == "timeout":
        return "timeout"
    return _words(text, 4) or "error"


def recoveries(steps: Sequence[Step], *, window: int = 4) -> list[tuple[Step, list[Step]]]:
    """Each failed step followed by a recovery: the steps after it up to the next success.

    The recovery ends at the next success of the same tool within ``window``
    steps, else at the first later success; a failure directly followed by
    another failure of the same tool is skipped (the last of the run counts).
    """
    out: list[tuple[Step, list[Step]]] = []
    for i, step in enumerate(steps):
        if step.result.status == "success":
            continue
        nxt = steps[i + 1] if i + 1 < len(steps) else None
        if nxt is not None and nxt.tool == step.tool and nxt.result.status != "success":
            continue
        later = steps[i + 1 : i + 1 + window]
        end = next(
            (
                j
                for j, s in enumerate(later)
                if s.tool == step.tool and s.result.status == "success"
            ),
            None,
        )
        if end is None:
            end = next((j for j, s in enumerate(later) if s.result.status == "success"), None)
        if end is not None:
            out.append((step, list(later[: end + 1])))
    return out


def _candidate(
    kind: PatternKind,
    episode: Episode,
    content: Sequence[str],
    description: str,
    data: dict[str, Any],
    *,
    typed: bool = False,
) -> PatternCandidate:
    """A candidate of ``episode`` keyed ``kind|domain|content...`` (task type only if ``typed``)."""
    return PatternCandidate(
        kind=kind,
        key="|".join((kind, episode.domain, *content)),
        domain=episode.domain,
        task_type=episode.task_type if typed else None,
        description=description,
        data=data,
    )


def _tool_sequence_candidates(episode: Episode) -> Iterator[PatternCandidate]:
    tools = tool_sequence(episode.steps)
    if len(tools) >= 2:
        yield _candidate(
            "tool_sequence",
            episode,
            (episode.task_type, ">".join(tools)),
            f"tool sequence for {episode.task_type} in {episode.domain}: {' → '.join(tools)}",
            {"tools": tools},
            typed=True,
        )


def _decision_candidates(episode: Episode) -> Iterator[PatternCandidate]:
    for step, nxt in pairwise(episode.steps):
        if not _DECISION.search(step.action):
            continue
        condition = _words(step.action, 8)
        yield _candidate(
            "decision_point",
            episode,
            (step.tool, condition, nxt.tool),
            f"decision in {episode.domain}: {condition} ({step.tool}), then {nxt.tool}",
            {
                "condition": condition,
                "tool": step.tool,
                "check_status": step.result.status,
                "then": nxt.tool,
            },
        )


def _recovery_candidates(episode: Episode) -> Iterator[PatternCandidate]:
    for failed, recovery in recoveries(episode.steps):
        signature = error_signature(failed)
        tools = [s.tool for s in recovery]
        yield _candidate(
            "error_recovery",
            episode,
            (failed.tool, signature, ">".join(tools)),
            f"recovery in {episode.domain}: {signature} in {failed.tool} "
            f"fixed by {' → '.join(tools)}",
            {"error": signature, "failed_tool": failed.tool, "recovery": tools},
        )


def _context_candidate(episode: Episode) -> PatternCandidate:
    ctx = episode.context
    stack = "/".join(x for x in (ctx.language, ctx.framework) if x) or "any stack"
    return _candidate(
        "context_pattern",
        episode,
        (episode.task_type, ctx.language or "-", ctx.framework or "-"),
        f"{episode.task_type} tasks in {episode.domain} with {stack}",
        {
            "language": ctx.language,
            "framework": ctx.framework,
            "task_type": episode.task_type,
            "tools": tool_sequence(episode.steps),
        },
        typed=True,
    )


def extract_candidates(episode: Episode) -> list[PatternCandidate]:
    """Every pattern candidate of a completed episode with steps (duplicate keys removed).

    Returns an empty list for an episode without steps (callers report why).
    """
    if not episode.steps:
        return []
    unique: dict[str, PatternCandidate] = {}
    for candidate in (
        *_tool_sequence_candidates(episode),
        *_decision_candidates(episode),
        *_recovery_candidates(episode),
        _context_candidate(episode),
    ):
        unique.setdefault(candidate.key, candidate)
    return list(unique.values())

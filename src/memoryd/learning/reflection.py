"""Reflection on a completed episode, derived from its steps, outcome and reward (no LLM).

The rules are deliberately plain so that the text can be checked:

* successes: the outcome verdict, an error-free run, each recovery from an
  error (``"recovered from ImportError in run_tests with edit_file"``),
  finishing faster than the domain median.
* improvements: failed/timed-out steps and their share, repeated failures of
  the same tool, a slow tool (over half the logged latency), a run slower
  than the domain median, the failure reason.
* insights: the tool sequence that led to the outcome, the most used tool,
  the tokens spent.

An optional provider can refine it (``Reflector`` protocol, set
``memory.reflector``; e.g. an LLM): it receives the rule-based draft and
returns the reflection that is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from memoryd.learning.extraction import error_signature, recoveries, tool_sequence
from memoryd.learning.models import (
    AbstainedOutcome,
    FailureOutcome,
    Outcome,
    PartialOutcome,
    Reflection,
    RewardScore,
    Step,
    SuccessOutcome,
)

__all__ = ["Reflector", "reflect"]


class Reflector(Protocol):
    """A provider that refines a rule-based reflection (e.g. an LLM); optional."""

    def refine(self, task: str, steps: Sequence[Step], draft: Reflection) -> Reflection: ...


def _outcome_lines(outcome: Outcome, successes: list[str], improvements: list[str]) -> None:
    if isinstance(outcome, SuccessOutcome):
        successes.append(f"task succeeded: {outcome.verdict}")
    elif isinstance(outcome, PartialOutcome):
        if outcome.completed:
            successes.append("completed: " + ", ".join(outcome.completed))
        if outcome.failed:
            improvements.append("not completed: " + ", ".join(outcome.failed))
    elif isinstance(outcome, FailureOutcome):
        improvements.append(f"task failed: {outcome.reason}")
    elif isinstance(outcome, AbstainedOutcome):
        improvements.append(f"abstained: {outcome.reason}")


def _step_lines(steps: Sequence[Step], improvements: list[str], successes: list[str]) -> None:
    failed = [s for s in steps if s.result.status != "success"]
    if not failed:
        successes.append(f"all {len(steps)} steps succeeded")
        return
    share = len(failed) / len(steps)
    improvements.append(f"{len(failed)} of {len(steps)} steps failed ({share:.0%})")
    for tool, count in Counter(s.tool for s in failed).items():
        if count > 1:
            improvements.append(f"{tool} failed {count} times: check its inputs before calling it")
    timeouts = [s for s in failed if s.result.status == "timeout"]
    if timeouts:
        improvements.append(
            f"{len(timeouts)} step(s) timed out ({', '.join(sorted({s.tool for s in timeouts}))})"
        )


def reflect(
    task: str,
    steps: Sequence[Step],
    outcome: Outcome,
    reward: RewardScore,
    *,
    median_duration_s: float | None = None,
) -> Reflection:
    """A reflection on an episode (rules in the module docstring).

    Args:
        task: the task description (used only by refining providers).
        steps: the episode's steps, in order.
        outcome: its outcome.
        reward: its computed reward (for duration and error rate).
        median_duration_s: the domain's median duration in seconds, if known.
    """
    successes: list[str] = []
    improvements: list[str] = []
    insights: list[str] = []
    _outcome_lines(outcome, successes, improvements)
    if not steps:
        improvements.append("no steps were logged: log tool calls to learn from this task")
        return Reflection(successes=successes, improvements=improvements, insights=insights)
    _step_lines(steps, improvements, successes)
    for failed, recovery in recoveries(steps):
        tools = " → ".join(s.tool for s in recovery)
        successes.append(f"recovered from {error_signature(failed)} in {failed.tool} with {tools}")
    if median_duration_s and reward.duration_s > 0:
        ratio = reward.duration_s / median_duration_s
        if ratio <= 0.8:
            successes.append(f"finished in {ratio:.1f}× the domain's median time")
        elif ratio >= 1.5:
            improvements.append(f"took {ratio:.1f}× the domain's median time")
    total_latency = sum(s.latency_ms for s in steps)
    if total_latency > 0:
        by_tool: Counter[str] = Counter()
        for s in steps:
            by_tool[s.tool] += int(s.latency_ms)
        tool, spent = by_tool.most_common(1)[0]
        if spent / total_latency > 0.5 and len(by_tool) > 1:
            improvements.append(f"{tool} took {spent / total_latency:.0%} of the step time")
    insights.append(f"tool sequence {' → '.join(tool_sequence(steps))} ended in {outcome.type}")
    tool, count = Counter(s.tool for s in steps).most_common(1)[0]
    insights.append(f"most used tool: {tool} ({count} of {len(steps)} steps)")
    tokens = sum(s.tokens for s in steps)
    if tokens:
        insights.append(f"{tokens} tokens over {len(steps)} steps")
    return Reflection(successes=successes, improvements=improvements, insights=insights)

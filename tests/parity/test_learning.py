"""Parity: episodes, patterns, feedback and analysis through ``Memory`` and ``Client``."""

from __future__ import annotations

import math
import uuid

import pytest

from learning.scenario import run_scenario
from memoryd import (
    Client,
    EpisodeAlreadyCompleted,
    EpisodeNotFound,
    InvalidSeries,
    Memory,
    PatternNotFound,
    ValidationError,
)

Backend = Memory | Client


def _ok(tool: str) -> dict[str, object]:
    return {"tool": tool, "action": f"use {tool}", "result": {"status": "success"}}


def test_episode_lifecycle(backend: Backend, ns: str) -> None:
    ep = backend.start_episode(
        "Fix the failing login test",
        domain="web",
        task_type="debugging",
        context={"language": "python", "complexity": "simple"},
        namespace=ns,
    )
    assert ep.status == "running" and ep.namespace == ns
    step = backend.log_step(
        ep.id,
        tool="run_tests",
        action="run the tests",
        result={"status": "error", "message": "AssertionError: 302 != 200"},
        latency_ms=1500.0,
        namespace=ns,
    )
    assert step.number == 1 and step.result.status == "error"
    steps = backend.log_steps(ep.id, [_ok("edit_file"), _ok("run_tests")], namespace=ns)
    assert [s.number for s in steps] == [2, 3]
    pack = backend.checkpoint_episode(ep.id, note="almost there", agent_id="a1", namespace=ns)
    assert pack.checkpoint == 1 and len(pack.episode.steps) == 3 and len(pack.errors) == 1
    assert backend.resume_episode(ep.id, agent_id="a2", namespace=ns).agent_id == "a2"
    done = backend.complete_episode(ep.id, {"type": "success", "verdict": "green"}, namespace=ns)
    assert done.extraction.queued and done.episode.reward is not None
    assert done.episode.reward.total == pytest.approx((1 - 0.5 / 3) + 0.1, abs=1e-6)
    assert done.episode.reflection is not None and done.episode.reflection.successes
    got = backend.get_episode(ep.id, namespace=ns)
    assert got.step_count == 3 and [s.tool for s in got.steps][0] == "run_tests"
    assert backend.get_episode(ep.id, namespace=ns, include_steps=False).steps == []
    updated = backend.update_episode(ep.id, tags=["auth"], metadata={"pr": 7}, namespace=ns)
    assert updated.tags == ["auth"] and updated.metadata == {"pr": 7}
    page = backend.list_episodes(namespace=ns, status="completed")
    assert [e.id for e in page.items] == [ep.id]
    empty = backend.start_episode("Nothing to do", namespace=ns)
    none = backend.complete_episode(empty.id, {"type": "abstained", "reason": "n/a"}, namespace=ns)
    assert not none.extraction.queued and "no steps" in (none.extraction.reason or "")
    backend.delete_episode(empty.id, namespace=ns)
    with pytest.raises(EpisodeNotFound):
        backend.get_episode(empty.id, namespace=ns)


def test_episode_errors(backend: Backend, ns: str) -> None:
    with pytest.raises(EpisodeNotFound) as missing:
        backend.log_step(uuid.uuid4(), _ok("x"), namespace=ns)
    assert missing.value.code == "episode_not_found"
    ep = backend.start_episode("Task", namespace=ns)
    with pytest.raises(ValidationError):
        backend.log_step(ep.id, tool="x", action="y", result={"status": "weird"}, namespace=ns)
    with pytest.raises(ValidationError):
        backend.complete_episode(ep.id, {"type": "won"}, namespace=ns)
    with pytest.raises(ValidationError):
        backend.get_episode("nope", namespace=ns)
    backend.complete_episode(ep.id, {"type": "failure", "reason": "x"}, namespace=ns)
    with pytest.raises(EpisodeAlreadyCompleted):
        backend.log_step(ep.id, _ok("late"), namespace=ns)
    with pytest.raises(PatternNotFound):
        backend.get_pattern(uuid.uuid4(), namespace=ns)
    with pytest.raises(InvalidSeries):
        backend.advanced_pattern_analysis("trend", {"r": [1.0, math.nan, 3.0, 4.0]})
    with pytest.raises(InvalidSeries):
        backend.advanced_pattern_analysis("causality", {"a": [1.0] * 12, "b": [2.0] * 11})
    with pytest.raises(ValidationError):
        backend.advanced_pattern_analysis("tarot", {"r": [1.0, 2.0]})


def test_patterns_recommendations_and_feedback(backend: Backend, ns: str) -> None:
    ids = run_scenario(backend, namespace=ns)
    backend.extract_patterns()
    kinds = {p.kind for p in backend.list_patterns(namespace=ns, limit=1000)}
    assert kinds == {"tool_sequence", "decision_point", "error_recovery", "context_pattern"}
    task = "Fix the broken signup redirect in the Django app"
    top = backend.recommend_patterns(task, domain="web", task_type="debugging", namespace=ns)[0]
    assert top.pattern.kind == "tool_sequence" and top.pattern.domain == "web"
    assert top.pattern.data["tools"][0] == "read_file" and top.reasons
    for _ in range(4):
        backend.record_feedback(top.pattern.id, applied=True, success=False, namespace=ns)
    again = backend.recommend_patterns(task, domain="web", task_type="debugging", namespace=ns)
    assert again[0].pattern.id != top.pattern.id
    stored = backend.get_pattern(top.pattern.id, namespace=ns)
    assert stored.effectiveness.applied_failures == 4 and stored.effectiveness.retrieved >= 2
    found = backend.search_patterns(
        "ImportError fixed by editing", kinds=["error_recovery"], namespace=ns
    )
    assert found and found[0].pattern.kind == "error_recovery"
    analysis = backend.analyze_patterns(task_type="debugging", min_success_rate=0.8, namespace=ns)
    assert analysis.count >= 1 and all(p.success_rate >= 0.8 for p in analysis.patterns)
    context = backend.retrieve_context(task, domain="web", limit=3, namespace=ns)
    assert len(context.episodes) == 3 and str(context.episodes[0].episode.id) in ids
    assert context.patterns[0].pattern.domain == "web"
    decay = backend.decay_patterns(namespace=ns, min_score=0.99, min_age_days=0, dry_run=True)
    assert decay.checked >= 12 and decay.archived
    trend = backend.advanced_pattern_analysis("trend", {"r": [0.1, 0.2, 0.35, 0.4, 0.55, 0.6]})
    assert trend.results["r"]["direction"] == "increasing"

"""Episode lifecycle on a real store: steps, completion, errors, hand-off, listing, deletion."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from memoryd import (
    EpisodeAlreadyCompleted,
    EpisodeNotFound,
    Memory,
    NotFound,
    Settings,
    ValidationError,
)
from memoryd.learning.models import Reflection, Step


def _ok(tool: str, action: str = "do it") -> dict[str, Any]:
    return {"tool": tool, "action": action, "result": {"status": "success", "output": "ok"}}


def _err(tool: str, message: str) -> dict[str, Any]:
    return {"tool": tool, "action": "try", "result": {"status": "error", "message": message}}


def test_lifecycle_reward_reflection_and_queue(learning_memory: Memory) -> None:
    m = learning_memory
    ep = m.start_episode(
        "Fix the failing login test",
        domain="web",
        task_type="debugging",
        context={"language": "python", "framework": "django", "complexity": "complex"},
        tags=["auth"],
    )
    assert ep.status == "running" and ep.steps == [] and ep.context.framework == "django"
    first = m.log_step(ep.id, _err("run_tests", "ImportError: cannot import name 'x'"))
    rest = m.log_steps(ep.id, [_ok("edit_file", "fix the import"), _ok("run_tests")])
    assert [s.number for s in [first, *rest]] == [1, 2, 3]
    done = m.complete_episode(ep.id, {"type": "success", "verdict": "tests pass"})
    episode = done.episode
    assert episode.status == "completed" and episode.step_count == 3
    assert done.extraction.queued is True and done.extraction.reason is None
    reward = episode.reward
    assert reward is not None
    assert reward.base == 1.0 and reward.complexity == 1.2
    assert reward.error_rate == pytest.approx(1 / 3)
    assert reward.quality == pytest.approx(1 - 0.5 / 3)
    assert reward.learning_bonus == pytest.approx(0.1)
    assert reward.efficiency == 1.0 and "efficiency neutral" in reward.notes[0]
    assert reward.total == pytest.approx(1.2 * (1 - 0.5 / 3) + 0.1, abs=1e-6)
    reflection = episode.reflection
    assert reflection is not None
    assert any("recovered from ImportError in run_tests" in s for s in reflection.successes)
    assert any("1 of 3 steps failed" in s for s in reflection.improvements)
    assert any("run_tests → edit_file → run_tests" in s for s in reflection.insights)
    assert m.learning.pattern_store.queue_size() == 1
    report = m.extract_patterns()
    assert report.episodes == 1 and report.patterns_created >= 3 and report.queue_remaining == 0
    assert m.get_episode(ep.id).extracted is True


def test_completion_without_steps_says_why(learning_memory: Memory) -> None:
    ep = learning_memory.start_episode("Write the release notes", task_type="documentation")
    done = learning_memory.complete_episode(ep.id, {"type": "abstained", "reason": "no access"})
    assert done.extraction.queued is False
    assert done.extraction.reason is not None and "no steps" in done.extraction.reason
    assert done.episode.reward is not None and done.episode.reward.base == 0.2
    assert any("no steps" in n for n in done.episode.reward.notes)
    assert learning_memory.learning.pattern_store.queue_size() == 0
    assert learning_memory.extract_patterns().episodes == 0


def test_errors_have_stable_codes_and_lose_nothing(learning_memory: Memory) -> None:
    m = learning_memory
    missing = uuid.uuid4()
    with pytest.raises(EpisodeNotFound) as not_found:
        m.log_step(missing, _ok("x"))
    assert not_found.value.code == "episode_not_found" and isinstance(not_found.value, NotFound)
    ep = m.start_episode("Refactor the billing module", task_type="refactoring")
    m.log_step(ep.id, _ok("read_file"))
    with pytest.raises(ValidationError):
        m.log_steps(ep.id, [_ok("edit_file"), {"tool": "", "action": "x"}])  # second is bad
    with pytest.raises(ValidationError):
        m.log_step(ep.id, tool="run", action="x", result={"status": "exploded"})
    with pytest.raises(ValidationError):
        m.complete_episode(ep.id, {"type": "victory"})
    with pytest.raises(ValidationError):
        m.start_episode("x", task_type="juggling")
    with pytest.raises(ValidationError):
        m.get_episode("not-a-uuid")
    assert m.get_episode(ep.id).step_count == 1  # the bad batch stored nothing
    m.complete_episode(ep.id, {"type": "failure", "reason": "out of time"})
    with pytest.raises(EpisodeAlreadyCompleted) as done:
        m.log_step(ep.id, _ok("edit_file"))
    assert done.value.code == "episode_already_completed"
    with pytest.raises(EpisodeAlreadyCompleted):
        m.complete_episode(ep.id, {"type": "success", "verdict": "late"})
    stored = m.get_episode(ep.id)
    assert stored.step_count == 1 and stored.outcome is not None
    assert stored.outcome.type == "failure"
    with pytest.raises(EpisodeNotFound):
        m.get_episode(ep.id, namespace="other-tenant")


def test_checkpoint_and_resume_hand_off(learning_memory: Memory) -> None:
    m = learning_memory
    ep = m.start_episode("Migrate the orders table", domain="db", agent_id="agent-a")
    m.log_steps(ep.id, [_ok("dump_schema"), _err("run_migration", "OperationalError: locked")])
    pack = m.checkpoint_episode(ep.id, note="migration blocked by a lock", agent_id="agent-a")
    assert pack.checkpoint == 1 and pack.note == "migration blocked by a lock"
    assert len(pack.episode.steps) == 2 and [s.tool for s in pack.errors] == ["run_migration"]
    resumed = m.resume_episode(ep.id, agent_id="agent-b")
    assert resumed.checkpoint == 2 and resumed.agent_id == "agent-b"
    assert resumed.episode.agent_id == "agent-b"
    m.log_step(ep.id, _ok("run_migration"))
    done = m.complete_episode(ep.id, {"type": "success", "verdict": "migrated"})
    assert done.episode.step_count == 3
    with pytest.raises(EpisodeAlreadyCompleted):
        m.checkpoint_episode(ep.id)


def test_list_update_delete(learning_memory: Memory) -> None:
    m = learning_memory
    ids = []
    for i, domain in enumerate(["web", "web", "data"]):
        ep = m.start_episode(f"task {i}", domain=domain, task_type="testing")
        m.log_step(ep.id, _ok("run_tests"))
        m.log_step(ep.id, _ok("report"))
        if i < 2:
            m.complete_episode(ep.id, {"type": "success", "verdict": "ok"})
        ids.append(ep.id)
    web = m.list_episodes(domain="web")
    assert [e.id for e in web.items] == [ids[1], ids[0]] and web.items[0].steps == []
    assert [e.id for e in m.list_episodes(status="running").items] == [ids[2]]
    page = m.list_episodes(limit=2)
    assert len(page.items) == 2 and page.next_cursor is not None
    rest = m.list_episodes(limit=2, cursor=page.next_cursor)
    assert [e.id for e in rest.items] == [ids[0]] and rest.next_cursor is None
    updated = m.update_episode(ids[0], tags=["flaky"], metadata={"ticket": 42})
    assert updated.tags == ["flaky"] and updated.metadata == {"ticket": 42}
    m.extract_patterns()
    sequence = m.list_patterns(kinds=["tool_sequence"], domain="web")[0]
    assert sequence.occurrences == 2
    m.delete_episode(ids[0])
    with pytest.raises(EpisodeNotFound):
        m.get_episode(ids[0])
    assert m.get_pattern(sequence.id).occurrences == 1  # its evidence went with it
    with pytest.raises(EpisodeNotFound):
        m.delete_episode(ids[0])


def test_steps_survive_reopen(tmp_path: Path, model_cache_dir: Path, embedder: Any) -> None:
    settings = Settings(data_dir=tmp_path / "d", model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder, background=False) as m:
        ep = m.start_episode("Long task", domain="ops")
        m.log_step(ep.id, _ok("ssh"))
        m.log_step(ep.id, _err("restart_service", "timeout"))
    with Memory(settings, embedder=embedder, background=False) as m:
        again = m.get_episode(ep.id)
        assert [s.tool for s in again.steps] == ["ssh", "restart_service"]
        assert again.steps[1].result.message == "timeout" and again.status == "running"


def test_background_worker_drains_the_queue(
    tmp_path: Path, model_cache_dir: Path, embedder: Any
) -> None:
    settings = Settings(data_dir=tmp_path / "d", model_cache_dir=model_cache_dir)
    with Memory(settings, embedder=embedder) as m:
        ep = m.start_episode("Fix a bug", domain="web", task_type="debugging")
        m.log_steps(ep.id, [_ok("read_file"), _ok("edit_file"), _ok("run_tests")])
        m.complete_episode(ep.id, {"type": "success", "verdict": "fixed"})
        m.learning.extraction_worker.stop()  # waits for the pass the completion woke up, if any
        m.extract_patterns()
        assert m.learning.pattern_store.queue_size() == 0
        assert m.get_episode(ep.id).extracted is True


def test_list_filters_are_validated(learning_memory: Memory) -> None:
    for bad in ({"status": "paused"}, {"outcome": "won"}, {"task_type": "juggling"}):
        with pytest.raises(ValidationError):
            learning_memory.list_episodes(**bad)
    with pytest.raises(ValidationError):
        learning_memory.list_episodes(limit=0)
    with pytest.raises(ValidationError):
        learning_memory.list_episodes(cursor="garbage")


def test_learning_limits_are_validated(learning_memory: Memory) -> None:
    m = learning_memory
    calls = {
        100: (
            lambda n: m.recommend_patterns("a task", limit=n),
            lambda n: m.search_patterns("a task", limit=n),
            lambda n: m.retrieve_context("a task", limit=n),
        ),
        1000: (lambda n: m.list_patterns(limit=n), lambda n: m.analyze_patterns(limit=n)),
    }
    for high, bounded in calls.items():
        for call in bounded:
            for bad in (0, high + 1):
                with pytest.raises(ValidationError, match=f"between 1 and {high}"):
                    call(bad)
            with pytest.raises(ValidationError, match="must be an integer"):
                call(True)  # a bool is not a count


class _Annotator:
    """A reflection provider of our own (the protocol an LLM provider would implement)."""

    def refine(self, task: str, steps: Sequence[Step], draft: Reflection) -> Reflection:
        extra = f"{task}: {len(steps)} steps reviewed"
        return draft.model_copy(update={"insights": [*draft.insights, extra]})


def test_reflector_refines_the_stored_reflection(learning_memory: Memory) -> None:
    learning_memory.reflector = _Annotator()
    ep = learning_memory.start_episode("Tidy the config", domain="ops")
    learning_memory.log_step(ep.id, _ok("edit_file"))
    done = learning_memory.complete_episode(ep.id, {"type": "success", "verdict": "ok"})
    stored = learning_memory.get_episode(ep.id).reflection
    assert stored is not None and stored == done.episode.reflection
    assert stored.insights[-1] == "Tidy the config: 1 steps reviewed"
    assert any("tool sequence edit_file" in i for i in stored.insights)


def test_patterns_without_evidence_are_archived(learning_memory: Memory) -> None:
    m = learning_memory
    ep = m.start_episode("One-off task", domain="solo", task_type="testing")
    m.log_steps(ep.id, [_ok("a"), _ok("b")])
    m.complete_episode(ep.id, {"type": "success", "verdict": "ok"})
    m.extract_patterns()
    assert m.list_patterns(domain="solo")
    m.delete_episode(ep.id)
    assert m.list_patterns(domain="solo") == []
    archived = m.list_patterns(domain="solo", include_archived=True)
    assert archived and all(p.archived and p.occurrences == 0 for p in archived)

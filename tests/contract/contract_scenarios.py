"""The contract scenarios: operation calls with the part of each result every face must agree on.

A scenario is a list of steps in one fresh namespace; it runs on every face
that serves all of its operations (the registry says which), and each
step's projection must be equal on all of them. Projections keep what the
operation promises (contents, kinds, tags, order, counts, statuses, error
codes) and drop what differs by store (ids, times, scores' last digits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Args = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Step:
    """One call: ``op`` with ``args`` (or ``args(ctx)``, ctx holding ``ns`` and saved results)."""

    op: str
    args: Args
    project: Callable[[Any], Any] = lambda value: value
    save: str | None = None
    error: str | None = None
    #: Call again (within the wait budget) until this holds: for work a worker does.
    until: Callable[[Any], bool] | None = None
    #: Project with the context too: ``project(value, ctx)``.
    with_ctx: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    notes: str = ""
    ops: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", frozenset(step.op for step in self.steps))


def entry(e: dict[str, Any]) -> dict[str, Any]:
    """What every face shows the same of a stored entry."""
    return {
        "content": e["content"],
        "kind": e["kind"],
        "tags": sorted(e.get("tags") or []),
        "metadata": e.get("metadata") or {},
        "session_id": e.get("session_id"),
        "history": (e.get("supersedes") is not None, e.get("superseded_by") is not None),
    }


def entries(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry(e) for e in items]


def hits(result: dict[str, Any]) -> list[str]:
    return [h["entry"]["content"] for h in result["hits"]]


def packed(result: dict[str, Any]) -> dict[str, Any]:
    """A packed context: each snippet's text, how many ids it cites, its tokens; the account."""
    snippets = [(s["text"], len(s["ids"]), s["tokens"], s["truncated"]) for s in result["snippets"]]
    account = {k: result[k] for k in ("tokens_used", "budget_tokens", "left_out", "merged")}
    return {"snippets": snippets, **account}


def page(result: dict[str, Any]) -> list[dict[str, Any]]:
    return entries(result["items"])


def episode(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e[k] for k in ("task_description", "domain", "status")}


def _id(name: str, key: str = "id") -> Callable[[dict[str, Any]], str]:
    return lambda ctx: str(ctx[name][key])


def ns(**args: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Arguments with the scenario's namespace; callables among them read ``ctx``."""
    return lambda ctx: (
        {"namespace": ctx["ns"]} | {k: v(ctx) if callable(v) else v for k, v in args.items()}
    )


def _nothing(_: Any) -> None:
    return None


def _top_pattern(ctx: dict[str, Any]) -> str:
    return str(ctx["top"][0]["pattern"]["id"])


def _learned(task: str) -> tuple[Step, ...]:
    """An episode that succeeded with two steps (what pattern extraction learns from)."""
    return (
        Step("start_episode", ns(task_description=task, domain="web"), episode, "ep"),
        Step(
            "log_step",
            ns(episode_id=_id("ep"), tool="read_file", action="read the view", result=_OK),
            lambda s: s["tool"],
        ),
        Step(
            "log_step",
            ns(episode_id=_id("ep"), tool="run_tests", action="run tests", result=_OK),
            lambda s: s["tool"],
        ),
        Step(
            "complete_episode",
            ns(episode_id=_id("ep"), outcome=_OUTCOME),
            lambda r: r["episode"]["status"],
        ),
    )


_OUTCOME = {"type": "success", "verdict": "tests pass"}
_OK = {"status": "success"}

SCENARIOS = (
    Scenario(
        "memories",
        (
            Step("add", ns(content="Ann drinks green tea", tags=["drinks"]), entry, "tea"),
            Step("add", ns(content="Ben rides a red bicycle to work"), entry, "bike"),
            Step("get", ns(id=_id("tea")), entry),
            Step("search", ns(query="what does Ann drink", limit=1), hits),
            Step("list", ns(limit=10), page),
            Step("delete", ns(id=_id("bike")), _nothing),
            Step("get", ns(id=_id("bike")), error="not_found"),
            Step("list", ns(limit=10), page),
        ),
    ),
    Scenario(
        "context",
        (
            Step("add", ns(content="Ann drinks green tea"), entry),
            Step("add", ns(content="Ann drinks green tea every morning."), entry),
            Step("add", ns(content="Ben rides a red bicycle to work"), entry),
            Step("pack_context", ns(query="what does Ann drink", budget_tokens=16), packed),
        ),
        notes="the tea texts merge (containment); bad budgets: tests/engine/test_packing.py",
    ),
    Scenario(
        "revisions",
        (
            Step("add", ns(content="The build uses make"), entry, "build"),
            Step("update", ns(id=_id("build"), tags=["tooling"]), entry),
            Step("supersede", ns(id=_id("build"), content="The build uses just"), entry, "new"),
            Step("get", ns(id=_id("build")), entry),
            Step("get", ns(id=_id("new")), entry),
        ),
    ),
    Scenario(
        "history",
        (
            Step("add", ns(content="Deploys happen on Monday"), entry, "old"),
            Step("supersede", ns(id=_id("old"), content="Deploys happen on Tuesday"), entry),
            Step("history", ns(id=_id("old")), entries),
        ),
    ),
    Scenario(
        "conversation",
        (
            Step("append", ns(session_id="s1", content="hello", role="user"), entry),
            Step("append", ns(session_id="s1", content="hi there", role="assistant"), entry),
            Step("append", ns(session_id="s1", content="bye", role="user"), entry),
            Step("last_messages", ns(session_id="s1", n=2), entries),
        ),
    ),
    Scenario(
        "whole session",
        (
            Step("append", ns(session_id="s2", content="first", role="user"), entry),
            Step("append", ns(session_id="s2", content="second", role="assistant"), entry),
            Step("session_messages", ns(session_id="s2"), entries),
        ),
    ),
    Scenario(
        "state",
        (
            Step("set_state", ns(session_id="s1", key="step", value={"n": 3}), _nothing),
            Step("get_state", ns(session_id="s1", key="step")),
            Step("get_state", ns(session_id="s1", key="missing"), error="not_found"),
        ),
    ),
    Scenario(
        "state delete and key/values",
        (
            Step("set_state", ns(session_id="s1", key="k", value=[1, 2]), entry),
            Step("delete_state", ns(session_id="s1", key="k")),
            Step("delete_state", ns(session_id="s1", key="k")),
            Step("kv_set", ns(key="color", value="blue"), entry),
            Step("kv_get", ns(key="color")),
            Step("kv_delete", ns(key="color")),
            Step("kv_get", ns(key="color"), error="not_found"),
        ),
    ),
    Scenario(
        "episode",
        (
            Step("start_episode", ns(task_description="Fix the login bug"), episode, "ep"),
            Step(
                "log_step",
                ns(episode_id=_id("ep"), tool="run_tests", action="run", result=_OK),
                lambda s: (s["tool"], s["result"]["status"]),
            ),
            Step(
                "complete_episode",
                ns(episode_id=_id("ep"), outcome=_OUTCOME),
                lambda r: (r["episode"]["status"], r["episode"]["reward"]["base"]),
            ),
            Step(
                "complete_episode",
                ns(episode_id=_id("ep"), outcome=_OUTCOME),
                error="episode_already_completed",
            ),
        ),
    ),
    Scenario(
        "episode hand-off",
        (
            Step("start_episode", ns(task_description="Port the parser"), episode, "ep"),
            Step(
                "log_step",
                ns(episode_id=_id("ep"), tool="read_file", action="read", result=_OK),
                lambda s: s["tool"],
            ),
            Step("checkpoint_episode", ns(episode_id=_id("ep")), lambda p: p["checkpoint"]),
            Step(
                "resume_episode", ns(episode_id=_id("ep")), lambda p: (p["checkpoint"], p["note"])
            ),
            Step("get_episode", ns(episode_id=_id("ep")), episode),
            Step("list_episodes", ns(), lambda p: [episode(e) for e in p["items"]]),
            Step("delete_episode", ns(episode_id=_id("ep")), _nothing),
            Step("get_episode", ns(episode_id=_id("ep")), error="episode_not_found"),
        ),
    ),
    Scenario(
        "episode edits",
        (
            Step("start_episode", ns(task_description="Tune the cache"), episode, "ep"),
            Step("update_episode", ns(episode_id=_id("ep"), tags=["perf"]), lambda e: e["tags"]),
            Step(
                "log_steps",
                ns(
                    episode_id=_id("ep"),
                    steps=[
                        {"tool": "bench", "action": "measure", "result": _OK},
                        {"tool": "edit", "action": "change size", "result": _OK},
                    ],
                ),
                lambda steps: [s["tool"] for s in steps],
            ),
        ),
    ),
    Scenario(
        "stats",
        (
            Step("add", ns(content="one fact"), entry),
            Step("add", ns(content="another fact"), entry),
            Step("stats", {}, lambda s, ctx: s["by_namespace"][ctx["ns"]], with_ctx=True),
        ),
    ),
    Scenario(
        "forget",
        (
            Step("add", ns(content="a fact to erase"), entry),
            Step("forget", ns(), lambda r: r["memories"]),
            Step("list", ns(), page),
        ),
    ),
    Scenario("verify", (Step("verify_storage", {}, lambda r: r["ok"]),)),
    Scenario(
        "transfer",
        (
            Step(
                "add_many",
                lambda ctx: {"items": [{"content": c, "namespace": ctx["ns"]} for c in "abc"]},
                entries,
            ),
            Step("export", ns(), lambda items: sorted(e["content"] for e in items), "exported"),
            Step("import_entries", lambda ctx: {"entries": ctx["exported"]}),
        ),
        notes="the CLI's import and export work on files: tests/cli/test_cli_transfer.py",
    ),
    Scenario(
        "series analysis",
        (
            Step(
                "advanced_pattern_analysis",
                {"kind": "trend", "series": {"latency": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}},
                lambda r: (r["kind"], sorted(r["results"])),
            ),
        ),
    ),
    Scenario(
        "patterns",
        (
            *_learned("Fix the login bug"),
            Step("extract_patterns", {}, lambda r: r["queue_remaining"]),
            Step("list_patterns", ns(), lambda ps: sorted({p["kind"] for p in ps})),
            Step(
                "recommend_patterns",
                ns(task="Fix a login bug"),
                lambda ms: ms[0]["pattern"]["domain"],
                "top",
            ),
            Step("get_pattern", ns(pattern_id=_top_pattern), lambda p: p["domain"]),
            Step("search_patterns", ns(query="run tests"), lambda ms: len(ms) > 0),
            Step(
                "record_feedback",
                ns(pattern_id=_top_pattern, success=False),
                lambda p: p["effectiveness"]["applied_failures"],
            ),
            Step("decay_patterns", ns(min_age_days=0, dry_run=True), lambda r: r["checked"] >= 1),
        ),
    ),
    Scenario(
        "pattern tools",
        (
            *_learned("Fix the signup bug"),
            Step(
                "recommend_patterns",
                ns(task="Fix a signup bug"),
                lambda ms: ms[0]["pattern"]["domain"],
                "top",
                until=lambda ms: len(ms) > 0,
            ),
            Step(
                "record_feedback",
                ns(pattern_id=_top_pattern, success=True),
                lambda p: p["effectiveness"]["applied_successes"],
            ),
            Step("analyze_patterns", ns(), lambda r: r["count"] >= 1),
            Step(
                "retrieve_context",
                ns(task="Fix the signup bug"),
                lambda r: r["episodes"][0]["episode"]["task_description"],
            ),
        ),
        notes="the daemon's (and the library's) extraction worker learns the pattern",
    ),
)

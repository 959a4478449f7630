"""``memoryd pattern ...``: list, view, search, recommend, feedback, effectiveness, extract, decay.

Each command parses its options, calls the backend (``Memory`` or
``Client``) and renders the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from memoryd.cli.app import command_group, id_argument, state_of
from memoryd.cli.episodes import TaskTypeChoice, learning, run_learning
from memoryd.cli.memories import Namespace
from memoryd.cli.render import render, rows_table
from memoryd.learning.models import Pattern, PatternKind, PatternMatch

__all__ = ["pattern_app"]

pattern_app = command_group(
    "pattern", "Learned patterns: recommendations, feedback, extraction, decay."
)

PatternId = Annotated[str, id_argument("pattern")]


class PatternKindChoice(StrEnum):
    """``--kind`` values of patterns."""

    tool_sequence = "tool_sequence"
    decision_point = "decision_point"
    error_recovery = "error_recovery"
    context_pattern = "context_pattern"


KindOption = Annotated[
    list[PatternKindChoice] | None, typer.Option("--kind", "-k", help="Only these kinds (repeat).")
]
DomainOption = Annotated[str | None, typer.Option("--domain", "-d", help="Domain.")]
LimitOption = Annotated[int, typer.Option("--limit", "-l", help="Most results.")]


def _kinds(kind: list[PatternKindChoice] | None) -> list[PatternKind] | None:
    return [k.value for k in kind] if kind else None


def _patterns_table(items: Sequence[Pattern]) -> Table:
    columns = ("id", "kind", "domain", "n", "success", "wilson_lb", "applied", "description")
    rows = (
        (
            str(p.id),
            p.kind,
            p.domain,
            str(p.occurrences),
            f"{p.success_rate:.2f}",
            f"{p.wilson_lower_bound:.3f}",
            f"{p.effectiveness.applied_successes}/{p.effectiveness.applied}",
            p.description[:70],
        )
        for p in items
    )
    return rows_table(columns, rows)


def _matches_table(items: Sequence[PatternMatch]) -> Table:
    columns = ("#", "score", "relevance", "effect.", "id", "kind", "description")
    rows = (
        (
            str(rank),
            f"{m.score:.3f}",
            f"{m.relevance:.3f}",
            f"{m.effectiveness:.3f}",
            str(m.pattern.id),
            m.pattern.kind,
            m.pattern.description[:70],
        )
        for rank, m in enumerate(items, start=1)
    )
    return rows_table(columns, rows)


@pattern_app.command("list")
def list_patterns(
    ctx: typer.Context,
    namespace: Namespace = "default",
    kind: KindOption = None,
    domain: DomainOption = None,
    task_type: Annotated[
        TaskTypeChoice | None, typer.Option("--task-type", help="Only this task type.")
    ] = None,
    archived: Annotated[
        bool, typer.Option("--include-archived", help="Include archived patterns.")
    ] = False,
    limit: LimitOption = 100,
) -> None:
    """List live patterns, best Wilson lower bound first."""
    run_learning(
        ctx,
        lambda engine: engine.list_patterns(
            namespace=namespace,
            kinds=_kinds(kind),
            domain=domain,
            task_type=task_type.value if task_type else None,
            include_archived=archived,
            limit=limit,
        ),
        table=_patterns_table,
    )


@pattern_app.command("view")
def view(ctx: typer.Context, pattern_id: PatternId, namespace: Namespace = "default") -> None:
    """Print one pattern with its evidence and effectiveness."""
    run_learning(ctx, lambda engine: engine.get_pattern(pattern_id, namespace=namespace))


@pattern_app.command("search")
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Text to match pattern descriptions against.")],
    namespace: Namespace = "default",
    kind: KindOption = None,
    domain: DomainOption = None,
    limit: LimitOption = 10,
) -> None:
    """Patterns whose description is closest to the query."""
    run_learning(
        ctx,
        lambda engine: engine.search_patterns(
            query, namespace=namespace, kinds=_kinds(kind), domain=domain, limit=limit
        ),
        table=_matches_table,
    )


@pattern_app.command("recommend")
def recommend(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="The new task.")],
    namespace: Namespace = "default",
    domain: DomainOption = None,
    task_type: Annotated[
        TaskTypeChoice | None, typer.Option("--task-type", help="The task's type.")
    ] = None,
    kind: KindOption = None,
    limit: LimitOption = 5,
) -> None:
    """Patterns for a task, ranked by relevance, effectiveness and recency."""
    run_learning(
        ctx,
        lambda engine: engine.recommend_patterns(
            task,
            namespace=namespace,
            domain=domain,
            task_type=task_type.value if task_type else None,
            kinds=_kinds(kind),
            limit=limit,
        ),
        table=_matches_table,
    )


@pattern_app.command("feedback")
def feedback(
    ctx: typer.Context,
    pattern_id: PatternId,
    namespace: Namespace = "default",
    applied: Annotated[
        bool, typer.Option("--applied/--not-applied", help="Whether the agent applied it.")
    ] = True,
    success: Annotated[
        bool | None, typer.Option("--success/--failure", help="Whether applying it worked.")
    ] = None,
    reward: Annotated[float | None, typer.Option("--reward", help="Episode reward.")] = None,
    episode: Annotated[str | None, typer.Option("--episode", help="Episode id.")] = None,
) -> None:
    """Record how a recommended pattern worked; the ranking uses it."""
    run_learning(
        ctx,
        lambda engine: (
            engine.record_feedback(
                pattern_id,
                applied=applied,
                success=success,
                reward=reward,
                episode_id=episode,
                namespace=namespace,
            ).effectiveness
        ),
    )


@pattern_app.command("effectiveness")
def effectiveness(
    ctx: typer.Context,
    pattern_id: Annotated[str | None, typer.Argument(help="One pattern's id (else all).")] = None,
    namespace: Namespace = "default",
    limit: LimitOption = 100,
) -> None:
    """Feedback statistics: retrieved, applied, success when applied, reward delta."""
    if pattern_id is not None:
        run_learning(
            ctx, lambda engine: engine.get_pattern(pattern_id, namespace=namespace).effectiveness
        )
        return
    state = state_of(ctx)
    with state.backend() as engine:
        items = learning(engine).list_patterns(namespace=namespace, limit=limit)
    columns = ("id", "kind", "retrieved", "applied", "worked", "reward_delta")
    table = rows_table(columns, (_effectiveness_row(p) for p in items))
    data = [{"id": str(p.id), **p.effectiveness.model_dump()} for p in items]
    render(data, state.output, table=table)


def _effectiveness_row(p: Pattern) -> tuple[str, ...]:
    e = p.effectiveness
    delta = "" if e.reward_delta is None else f"{e.reward_delta:+.3f}"
    return (str(p.id), p.kind, str(e.retrieved), str(e.applied), str(e.applied_successes), delta)


@pattern_app.command("extract")
def extract(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", "-l", help="Most episodes (default: all queued).")
    ] = None,
) -> None:
    """Drain the durable extraction queue now and print what was done."""
    run_learning(ctx, lambda engine: engine.extract_patterns(limit=limit))


@pattern_app.command("decay")
def decay(
    ctx: typer.Context,
    namespace: Namespace = "default",
    min_score: Annotated[
        float, typer.Option("--min-score", help="Archive below this decayed score (0..1).")
    ] = 0.05,
    min_age_days: Annotated[
        float, typer.Option("--min-age-days", help="Only patterns unused this long (days).")
    ] = 30.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, archive nothing.")] = False,
) -> None:
    """Archive patterns whose decayed effectiveness fell below --min-score."""
    run_learning(
        ctx,
        lambda engine: engine.decay_patterns(
            namespace=namespace, min_score=min_score, min_age_days=min_age_days, dry_run=dry_run
        ),
    )

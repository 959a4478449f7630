"""``memoryd pattern ...``: list, view, search, recommend, feedback, effectiveness, extract, decay.

Each command parses its options, calls the backend (``Memory`` or
``Client``) and renders the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from memoryd.cli.app import command_group, id_argument, run, state_of
from memoryd.cli.options import NAMESPACE, option, plain_command
from memoryd.cli.render import render, rows_table
from memoryd.client import Client
from memoryd.learning.models import FeedbackInput, Pattern, PatternMatch
from memoryd.operations.learning_bodies import (
    DecayBody,
    ExtractBody,
    RecommendBody,
    SearchBody,
)

__all__ = ["pattern_app"]

pattern_app = command_group(
    "pattern", "Learned patterns: recommendations, feedback, extraction, decay."
)

#: The arguments that name one pattern.
_PATTERN = {"pattern_id": Annotated[str, id_argument("pattern")], "namespace": NAMESPACE}


def _scope(source: Any) -> dict[str, Any]:
    """``--kind``, ``--domain``, ``--limit`` of a command that finds patterns, from ``source``."""
    return {
        "kinds": option(source, "kinds", "--kind", "-k", help="Only these kinds (repeat)."),
        "domain": option(source, "domain", "--domain", "-d", help="Domain."),
        "limit": option(source, "limit", "--limit", "-l", help="Most results."),
    }


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


plain_command(
    "pattern list",
    "List live patterns, best Wilson lower bound first.",
    table=_patterns_table,
    namespace=NAMESPACE,
    **_scope(Client.list_patterns),
    task_type=option(Pattern, "task_type", "--task-type", help="Only this task type."),
    include_archived=option(
        Client.list_patterns,
        "include_archived",
        "--include-archived",
        help="Include archived patterns.",
    ),
)
plain_command(
    "pattern view",
    "Print one pattern with its evidence and effectiveness.",
    **_PATTERN,
)
plain_command(
    "pattern search",
    "Patterns whose description is closest to the query.",
    table=_matches_table,
    query=Annotated[str, typer.Argument(help="Text to match pattern descriptions against.")],
    namespace=NAMESPACE,
    **_scope(SearchBody),
)
plain_command(
    "pattern recommend",
    "Patterns for a task, ranked by relevance, effectiveness and recency.",
    table=_matches_table,
    task=Annotated[str, typer.Argument(help="The new task.")],
    namespace=NAMESPACE,
    **_scope(RecommendBody),
    task_type=option(Pattern, "task_type", "--task-type", help="The task's type."),
)


plain_command(
    "pattern feedback",
    "Record how a recommended pattern worked; the ranking uses it.",
    shown=lambda pattern, _: pattern.effectiveness,
    **_PATTERN,
    applied=option(
        FeedbackInput, "applied", "--applied/--not-applied", help="Whether the agent applied it."
    ),
    success=option(
        FeedbackInput, "success", "--success/--failure", help="Whether applying it worked."
    ),
    reward=option(FeedbackInput, "reward", "--reward", help="Episode reward."),
    episode_id=option(FeedbackInput, "episode_id", "--episode", help="Episode id."),
)


@pattern_app.command("effectiveness")
def effectiveness(
    ctx: typer.Context,
    pattern_id: Annotated[str | None, typer.Argument(help="One pattern's id (else all).")] = None,
    namespace: str = NAMESPACE,
    limit: int = option(Client.list_patterns, "limit", "--limit", "-l", help="Most results."),
) -> None:
    """Feedback statistics: retrieved, applied, success when applied, reward delta."""
    if pattern_id is not None:
        run(ctx, lambda engine: engine.get_pattern(pattern_id, namespace=namespace).effectiveness)
        return
    state = state_of(ctx)
    with state.backend() as engine:
        items = engine.list_patterns(namespace=namespace, limit=limit)
    columns = ("id", "kind", "retrieved", "applied", "worked", "reward_delta")
    table = rows_table(columns, (_effectiveness_row(p) for p in items))
    data = [{"id": str(p.id), **p.effectiveness.model_dump()} for p in items]
    render(data, state.output, table=table)


def _effectiveness_row(p: Pattern) -> tuple[str, ...]:
    e = p.effectiveness
    delta = "" if e.reward_delta is None else f"{e.reward_delta:+.3f}"
    return (str(p.id), p.kind, str(e.retrieved), str(e.applied), str(e.applied_successes), delta)


plain_command(
    "pattern extract",
    "Drain the durable extraction queue now and print what was done.",
    limit=option(
        ExtractBody, "limit", "--limit", "-l", help="Most episodes (default: all queued)."
    ),
)
plain_command(
    "pattern decay",
    "Archive patterns whose decayed effectiveness fell below --min-score.",
    namespace=NAMESPACE,
    min_score=option(
        DecayBody, "min_score", "--min-score", help="Archive below this decayed score (0..1)."
    ),
    min_age_days=option(
        DecayBody, "min_age_days", "--min-age-days", help="Only patterns unused this long (days)."
    ),
    dry_run=option(DecayBody, "dry_run", "--dry-run", help="Report, archive nothing."),
)

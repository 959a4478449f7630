"""``memoryd eval ...``: retrieval-quality evaluations (in-process, fresh store by default)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Group
from rich.table import Table

from memoryd.cli.app import command_group, state_of
from memoryd.cli.options import option
from memoryd.cli.progress import ProgressBar
from memoryd.cli.render import render
from memoryd.errors import ValidationError
from memoryd.formats.locomo import read_locomo
from memoryd.paths import check_directory, check_output_file, check_user_file, write_atomic
from memoryd.types import SearchMode, SearchParams

if TYPE_CHECKING:
    from memoryd.engine import Memory
    from memoryd.eval.harness import EvalRun
    from memoryd.eval.locomo import CategoryRecall, LocomoReport
    from memoryd.eval.longmemeval import LongMemEvalReport

__all__ = ["eval_app", "longmemeval_tables", "parse_ks", "parse_types", "report_table"]

eval_app = command_group("eval", "Measure retrieval quality on a benchmark.")

_Report = TypeVar("_Report", bound="EvalRun")

_K_OPTION = typer.Option("--k", help="Cut-offs, comma-separated.")
_OUT_OPTION = typer.Option("--out", help="Write the report as JSON.")
_DATA_DIR_OPTION = typer.Option(
    "--data-dir",
    help="Keep the store here (reused if it already holds the data set); "
    "default: a fresh temporary folder.",
)


def parse_ks(text: str) -> list[int]:
    """``"1,5,10"`` -> ``[1, 5, 10]`` (sorted, unique).

    Raises:
        ValidationError: not a comma-separated list of integers in 1..1000.
    """
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise ValidationError(f"--k expects comma-separated integers, got {text!r}") from exc
    if not ks or ks[0] < 1 or ks[-1] > 1000:
        raise ValidationError(f"--k values must be in 1..1000, got {text!r}")
    return ks


def parse_types(text: str | None) -> list[str] | None:
    """``"multi-session,knowledge-update"`` -> the LongMemEval types named (``None``: all).

    Raises:
        ValidationError: a name is not a LongMemEval question type.
    """
    if text is None:
        return None
    from memoryd.eval.longmemeval import check_types

    return check_types(part.strip() for part in text.split(",") if part.strip())


def _caption(report: EvalRun) -> str:
    throughput = (
        f"{report.ingest_turns_per_second:.0f} turns/s"
        if report.ingest_turns_per_second is not None
        else "reused store"
    )
    return (
        f"search p50 {report.search_p50_ms:.1f} ms, p95 {report.search_p95_ms:.1f} ms; "
        f"ingest {report.ingested_turns} turns in {report.ingest_seconds:.1f} s ({throughput}); "
        f"total {report.total_seconds:.1f} s (CPU {report.cpu_seconds:.1f} s)"
    )


def _recall_table(
    title: str, ks: Sequence[int], rows: Sequence[CategoryRecall], caption: str | None
) -> Table:
    table = Table(title=title, caption=caption)
    table.add_column("category")
    table.add_column("questions", justify="right")
    for k in ks:
        table.add_column(f"R@{k}", justify="right")
    for k in ks:
        table.add_column(f"S@{k}", justify="right")
    for row in rows:
        label = f"{row.category} {row.name}" if row.category is not None else row.name
        cells = [f"{row.recall[k]:.3f}" for k in ks]
        cells += [f"{row.session_recall.get(k, 0.0):.3f}" for k in ks]
        table.add_row(label, str(row.questions), *cells)
    return table


def report_table(report: LocomoReport) -> Group:
    """Turn-level (R@k) and session-level (S@k) recall per category, one table per answer key."""
    head = (
        f"LoCoMo recall@k ({report.mode}, {report.conversations} conversations, "
        f"{report.turns} turns, {report.questions} questions)"
    )
    fixed = report.corrected
    tables = [
        _recall_table(
            f"{head}, original key",
            report.ks,
            [*report.categories, report.overall],
            _caption(report) if fixed is None else None,
        )
    ]
    if fixed is not None:
        tables.append(
            _recall_table(
                f"corrected key ({fixed.source}: {fixed.changes} questions changed)",
                report.ks,
                [*fixed.categories, fixed.overall],
                _caption(report),
            )
        )
    return Group(*tables)


def longmemeval_tables(report: LongMemEvalReport) -> Group:
    """Session-level (recall_any / recall_all @k, NDCG) and turn-level (recall@k, NDCG) tables."""
    rows = [*report.types, report.overall]
    head = (
        f"LongMemEval ({report.mode}, {report.questions} questions, "
        f"{report.abstention_excluded} abstention left out, {report.turns} turns)"
    )
    sessions = Table(title=f"{head}: sessions, recall_any / recall_all")
    turns = Table(title=f"turns ({report.turn_key}): recall", caption=_caption(report))
    for table in (sessions, turns):
        table.add_column("question type")
        table.add_column("questions", justify="right")
        for k in report.ks:
            table.add_column(f"@{k}", justify="right")
        table.add_column(f"NDCG@{report.ndcg_k}", justify="right")
    for row in rows:
        any_all = [
            f"{row.session_recall_any[k]:.3f} / {row.session_recall_all[k]:.3f}" for k in report.ks
        ]
        sessions.add_row(row.name, str(row.questions), *any_all, f"{row.session_ndcg:.3f}")
        recall = [f"{row.turn_recall[k]:.3f}" for k in report.ks]
        turns.add_row(row.name, str(row.questions), *recall, f"{row.turn_ndcg:.3f}")
    return Group(sessions, turns)


def _outputs(out: Path | None, data_dir: Path | None) -> tuple[Path | None, Path | None]:
    """``--out`` and ``--data-dir`` checked (before anything is read or written)."""
    report_path = None if out is None else check_output_file(out, purpose="report")
    if data_dir is not None:
        check_directory(data_dir, purpose="data_dir")
    return report_path, data_dir


def _evaluate(
    ctx: typer.Context,
    *,
    report_path: Path | None,
    data_dir: Path | None,
    run: Callable[[Memory, ProgressBar], _Report],
    table: Callable[[_Report], Group],
) -> None:
    """Run ``run`` on an eval store with progress bars, write ``report_path`` and render."""
    state = state_of(ctx)
    settings = state.settings()
    from memoryd.eval.harness import eval_memory  # loads the engine

    keep = data_dir or state.data_dir
    with eval_memory(settings, keep) as memory, ProgressBar() as bar:
        report = run(memory, bar)
        report.embedding_model = memory.embedder.model
        report.data_dir = str(keep) if keep is not None else None
    if report_path is not None:
        text = report.model_dump_json(indent=2) + "\n"
        write_atomic(report_path, lambda stream: stream.write(text))
    render(report, state.output, table=table(report))


@eval_app.command(name="locomo")
def locomo(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="locomo10.json", show_default=False)],
    limit_conversations: Annotated[
        int | None,
        typer.Option("--limit-conversations", min=1, help="Only the first N conversations."),
    ] = None,
    corrections: Annotated[
        str | None,
        typer.Option(
            "--corrections",
            help="evidence_changes.json of the LoCoMo audit: also report recall against "
            "the corrected key.",
        ),
    ] = None,
    mode: SearchMode = option(SearchParams, "mode", "--mode", help="Search mode."),
    k: Annotated[str, _K_OPTION] = "1,5,10,25,50",
    out: Annotated[Path | None, _OUT_OPTION] = None,
    data_dir: Annotated[Path | None, _DATA_DIR_OPTION] = None,
) -> None:
    """Turn- and session-level recall@k of the evidence on LoCoMo, overall and per category."""
    ks = parse_ks(k)
    source = check_user_file(path, purpose="eval")
    fixes = None if corrections is None else check_user_file(corrections, purpose="corrections")
    report_path, data_dir = _outputs(out, data_dir)
    conversations = read_locomo(source, limit=limit_conversations)
    applied = None
    if fixes is not None:
        from memoryd.formats.locomo_corrections import apply_corrections, read_corrections

        conversations, changed = apply_corrections(conversations, read_corrections(fixes))
        applied = (fixes.name, changed)

    def run(memory: Memory, bar: ProgressBar) -> LocomoReport:
        from memoryd.eval.locomo import evaluate_locomo

        return evaluate_locomo(
            memory,
            conversations,
            mode=mode,
            ks=ks,
            dataset=source.name,
            progress=bar,
            corrections=applied,
        )

    _evaluate(ctx, report_path=report_path, data_dir=data_dir, run=run, table=report_table)


@eval_app.command(name="longmemeval")
def longmemeval(
    ctx: typer.Context,
    path: Annotated[
        str,
        typer.Argument(help="a LongMemEval file (.json, .json.gz, .json.xz)", show_default=False),
    ],
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Only N questions, spread evenly over the types."),
    ] = None,
    types: Annotated[
        str | None,
        typer.Option("--types", help="Only these question types, comma-separated."),
    ] = None,
    mode: SearchMode = option(SearchParams, "mode", "--mode", help="Search mode."),
    k: Annotated[str, _K_OPTION] = "1,5,10,25,50",
    out: Annotated[Path | None, _OUT_OPTION] = None,
    data_dir: Annotated[Path | None, _DATA_DIR_OPTION] = None,
) -> None:
    """Session recall_any/all@k, turn recall@k and NDCG@10 on LongMemEval, per question type.

    Each question's haystack is its own namespace, every turn one dated message
    in its session; abstention questions are left out.
    """
    ks = parse_ks(k)
    chosen = parse_types(types)
    source = check_user_file(path, purpose="eval")
    report_path, data_dir = _outputs(out, data_dir)

    def run(memory: Memory, bar: ProgressBar) -> LongMemEvalReport:
        from memoryd.eval.longmemeval import evaluate_longmemeval
        from memoryd.formats.longmemeval import read_longmemeval

        with closing(read_longmemeval(source)) as questions:
            return evaluate_longmemeval(
                memory,
                questions,
                mode=mode,
                ks=ks,
                types=chosen,
                limit=limit,
                dataset=source.name,
                progress=bar,
            )

    _evaluate(ctx, report_path=report_path, data_dir=data_dir, run=run, table=longmemeval_tables)

"""``memoryd eval ...``: retrieval-quality evaluations (in-process, fresh store by default)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
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
    from memoryd.eval.locomo import LocomoReport

__all__ = ["eval_app", "parse_ks", "report_table"]

eval_app = command_group("eval", "Measure retrieval quality on a benchmark.")


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


def report_table(report: LocomoReport) -> Table:
    """Recall@k per category (rows) and k (columns), with timings in the caption."""
    table = Table(
        title=f"LoCoMo recall@k ({report.mode}, {report.conversations} conversations, "
        f"{report.turns} turns, {report.questions} questions)"
    )
    table.add_column("category")
    table.add_column("questions", justify="right")
    for k in report.ks:
        table.add_column(f"R@{k}", justify="right")
    for row in [*report.categories, report.overall]:
        label = f"{row.category} {row.name}" if row.category is not None else row.name
        table.add_row(label, str(row.questions), *(f"{row.recall[k]:.3f}" for k in report.ks))
    throughput = (
        f"{report.ingest_turns_per_second:.0f} turns/s"
        if report.ingest_turns_per_second is not None
        else "reused store"
    )
    table.caption = (
        f"search p50 {report.search_p50_ms:.1f} ms, p95 {report.search_p95_ms:.1f} ms; "
        f"ingest {report.ingested_turns} turns in {report.ingest_seconds:.1f} s ({throughput}); "
        f"total {report.total_seconds:.1f} s (CPU {report.cpu_seconds:.1f} s)"
    )
    return table


@eval_app.command(name="locomo")
def locomo(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="locomo10.json", show_default=False)],
    limit_conversations: Annotated[
        int | None,
        typer.Option("--limit-conversations", min=1, help="Only the first N conversations."),
    ] = None,
    mode: SearchMode = option(SearchParams, "mode", "--mode", help="Search mode."),
    k: Annotated[str, typer.Option("--k", help="Cut-offs, comma-separated.")] = "1,5,10,25,50",
    out: Annotated[Path | None, typer.Option("--out", help="Write the report as JSON.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Keep the store here (reused if it already holds the conversations); "
            "default: a fresh temporary folder.",
        ),
    ] = None,
) -> None:
    """Turn-level recall@k of the evidence on LoCoMo, overall and per category."""
    state = state_of(ctx)
    ks = parse_ks(k)
    source = check_user_file(path, purpose="eval")
    report_path = None if out is None else check_output_file(out, purpose="report")
    if data_dir is not None:
        check_directory(data_dir, purpose="data_dir")
    settings = state.settings()
    from memoryd.eval.locomo import eval_memory, evaluate_locomo  # loads the engine

    conversations = read_locomo(source, limit=limit_conversations)
    keep = data_dir or state.data_dir
    with eval_memory(settings, keep) as memory, ProgressBar() as bar:
        report = evaluate_locomo(
            memory, conversations, mode=mode, ks=ks, dataset=source.name, progress=bar
        )
        report.embedding_model = memory.embedder.model
        report.data_dir = str(keep) if keep is not None else None
    if report_path is not None:
        text = report.model_dump_json(indent=2) + "\n"
        write_atomic(report_path, lambda stream: stream.write(text))
    render(report, state.output, table=report_table(report))

"""``memoryd storage ...``: the store file itself (``verify``; status, backup and vacuum later).

``memoryd storage verify`` runs the full integrity check of
``store/integrity.py`` on ``<data_dir>/memoryd.db`` directly, without an
engine and without a daemon (whether or not one runs), and changes nothing.
It prints the report and exits 0 when the store is sound; otherwise it prints
``error[storage_corrupted]: ...`` (with the restore hint) on stderr and exits 1.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from memoryd.cli.app import command_group, state_of
from memoryd.cli.render import OutputFormat, render, rows_table
from memoryd.errors import StoreCorrupted
from memoryd.reports import IntegrityReport
from memoryd.store.health import restore_hint
from memoryd.store.integrity import verify_path

__all__ = ["storage_app"]

storage_app = command_group("storage", "Check the store file (verify).")


def _report_table(report: IntegrityReport) -> Group:
    title = f"{report.path}: {'ok' if report.ok else 'DAMAGED'}"
    checks = rows_table(("check", "result"), report.checks.items(), title=title)
    rows = ", ".join(f"{table} {count:,}" for table, count in report.rows.items())
    parts: list[Table | Text] = [checks, Text(f"rows verified: {rows or 'none'}")]
    if report.problems:
        problems = Table(title=f"{len(report.problems)} problem(s)")
        for name in ("check", "table", "rowid", "detail"):
            problems.add_column(name, overflow="fold")
        for problem in report.problems:
            problems.add_row(
                problem.check,
                problem.table or "",
                "" if problem.rowid is None else str(problem.rowid),
                problem.detail,
            )
        parts.append(problems)
    parts.append(Text(f"took {report.duration_s:.2f} s"))
    return Group(*parts)


@storage_app.command()
def verify(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (same as --format json).")
    ] = False,
) -> None:
    """Verify the store file: SQLite's checks, FTS5's, every checksum, the id sets (read-only)."""
    state = state_of(ctx)
    settings = state.settings()
    report = verify_path(settings.db_path, busy_timeout_s=settings.busy_timeout_ms / 1000)
    output = OutputFormat.json if as_json else state.output
    render(report, output, table=_report_table(report))
    if not report.ok:
        first = report.problems[0]
        raise StoreCorrupted(
            f"the store is damaged ({len(report.problems)} problem(s); first: {first.check}: "
            f"{first.detail}). {restore_hint(settings.db_path)}",
            path=str(settings.db_path),
            source=first.check,
        )

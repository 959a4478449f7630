"""``memoryd import`` and ``memoryd export``: JSONL (lossless) and LoCoMo files.

Both paths go through :mod:`memoryd.paths`: a missing, unreadable or
non-regular import file, or an export target that is a folder, a FIFO, a
symlink or in a missing folder, fails with ``error[invalid_path]`` (exit 2)
before the store is opened; nothing is read, written or stored then.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from memoryd.cli.app import app, state_of
from memoryd.cli.backend import CommandBackend
from memoryd.cli.progress import ProgressBar
from memoryd.cli.render import render
from memoryd.formats.jsonl import JsonlRecord, parse_record, read_jsonl, spool_jsonl, write_jsonl
from memoryd.formats.locomo import conversation_inputs, namespace_for, read_locomo
from memoryd.paths import check_output_file, check_user_file, write_atomic
from memoryd.types import MemoryEntry, MemoryInput

__all__ = ["ImportFormat"]

_BATCH = 500


class ImportFormat(StrEnum):
    """``import --format`` values."""

    jsonl = "jsonl"
    locomo = "locomo"


def _batches(path: Path, namespace: str | None) -> Iterator[list[JsonlRecord]]:
    """Runs of same-type records (all entries or all inputs), at most ``_BATCH`` long."""
    batch: list[JsonlRecord] = []
    with path.open(encoding="utf-8") as stream:
        for number, raw in read_jsonl(stream):
            record = parse_record(raw, line=number, namespace=namespace)
            if batch and (type(batch[0]) is not type(record) or len(batch) >= _BATCH):
                yield batch
                batch = []
            batch.append(record)
    if batch:
        yield batch


def _validate(path: Path, namespace: str | None) -> int:
    """Parse every line once before writing anything; returns the record count.

    Raises:
        ValidationError: the first bad line (nothing has been imported then).
    """
    return sum(len(batch) for batch in _batches(path, namespace))


def _import_jsonl(engine: CommandBackend, path: Path, namespace: str | None) -> dict[str, Any]:
    total = _validate(path, namespace)
    restored = skipped = added = 0
    namespaces: set[str] = set()
    with ProgressBar() as bar:
        bar.stage("import", total)
        for batch in _batches(path, namespace):
            namespaces.update(record.namespace for record in batch)
            if isinstance(batch[0], MemoryEntry):
                entries = [r for r in batch if isinstance(r, MemoryEntry)]
                inserted = engine.import_entries(entries)
                restored += inserted
                skipped += len(entries) - inserted
            else:
                added += len(engine.add_many([r for r in batch if isinstance(r, MemoryInput)]))
            bar.advance(len(batch))
    return {
        "restored": restored,
        "skipped_existing": skipped,
        "added": added,
        "namespaces": sorted(namespaces),
    }


def _import_locomo(engine: CommandBackend, path: Path, prefix: str | None) -> dict[str, Any]:
    conversations = read_locomo(path)
    namespaces: list[str] = []
    turns = 0
    with ProgressBar() as bar:
        bar.stage("import", sum(len(c.turns) for c in conversations))
        for conversation in conversations:
            namespace = namespace_for(conversation, prefix or "locomo")
            inputs = conversation_inputs(conversation, namespace)
            for start in range(0, len(inputs), _BATCH):
                chunk = inputs[start : start + _BATCH]
                engine.add_many(chunk, batch_size=_BATCH)
                bar.advance(len(chunk))
            namespaces.append(namespace)
            turns += len(inputs)
    return {"conversations": len(conversations), "added": turns, "namespaces": namespaces}


@app.command(name="import")
def import_file(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="File to import.", show_default=False)],
    file_format: Annotated[
        ImportFormat,
        typer.Option(
            "--format",
            help="jsonl: exported entries (restored losslessly) or MemoryInput dicts; "
            "locomo: the LoCoMo benchmark JSON (one namespace per conversation).",
        ),
    ] = ImportFormat.jsonl,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            help="jsonl: put every record in this namespace; "
            "locomo: namespace prefix (default 'locomo' -> locomo-<sample_id>).",
        ),
    ] = None,
) -> None:
    """Import memories from a JSONL export or a LoCoMo file (progress on stderr)."""
    state = state_of(ctx)
    source = check_user_file(path, purpose="import")
    with state.backend() as engine:
        if file_format is ImportFormat.locomo:
            summary = _import_locomo(engine, source, namespace)
        else:
            summary = _import_jsonl(engine, source, namespace)
    render(summary, state.output)


@app.command()
def export(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Output file, or '-' for stdout (default).")] = "-",
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Only this namespace (default: all).")
    ] = None,
) -> None:
    """Export entries as JSONL with vectors (lossless; re-import with `memoryd import`).

    Nothing is written unless the whole export was read: stdout gets it once
    complete, a file is written under a temporary name in its folder and
    renamed at the end. A target that is a symlink is refused: give the file
    it points to.
    """
    state = state_of(ctx)
    target = None if path == "-" else check_output_file(path, purpose="export")
    with state.backend() as engine:
        if target is None:
            spooled = spool_jsonl(engine.export(namespace=namespace))
            with spooled.file:
                shutil.copyfileobj(spooled.file, sys.stdout.buffer)
            sys.stdout.flush()
            return
        count = write_atomic(
            target, lambda stream: write_jsonl(engine.export(namespace=namespace), stream)
        )
    render({"exported": count, "path": str(target)}, state.output)

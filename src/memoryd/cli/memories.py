"""Commands on memories: add, search, get, list, delete, stats, forget.

Each command parses its options, calls the backend (:class:`memoryd.Memory`
in-process or :class:`memoryd.Client` over HTTP) and renders the result.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from memoryd.cli.app import app, id_argument, run, state_of
from memoryd.cli.render import render
from memoryd.errors import ValidationError
from memoryd.inputs import filter_from_json
from memoryd.types import Kind

__all__ = ["KindChoice", "ModeChoice", "parse_meta"]

_NAMESPACE_HELP = "Namespace (tenant/scope)."


class KindChoice(StrEnum):
    """``--kind`` values (:data:`memoryd.types.KINDS`)."""

    memory = "memory"
    message = "message"
    state = "state"
    kv = "kv"
    chunk = "chunk"
    episode = "episode"
    pattern = "pattern"


class ModeChoice(StrEnum):
    """``--mode`` values: hybrid (BM25 + vector, fused), vector or keyword (BM25)."""

    hybrid = "hybrid"
    vector = "vector"
    keyword = "keyword"


Namespace = Annotated[str, typer.Option("--namespace", "-n", help=_NAMESPACE_HELP)]
EntryId = Annotated[str, id_argument("entry")]


def parse_meta(pairs: list[str]) -> dict[str, Any]:
    """``["k=v", "n=3"]`` -> ``{"k": "v", "n": 3}``; values are JSON if they parse, else text.

    Raises:
        ValidationError: a pair has no ``=`` or an empty key.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--meta expects key=value, got {pair!r}", meta=pair)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


@app.command()
def add(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The memory's content.")],
    namespace: Namespace = "default",
    kind: Annotated[
        KindChoice, typer.Option("--kind", "-k", help="Entry kind.")
    ] = KindChoice.memory,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeat).")] = None,
    meta: Annotated[
        list[str] | None,
        typer.Option("--meta", "-m", help="Metadata key=value; JSON values parsed (repeat)."),
    ] = None,
    importance: Annotated[
        float | None, typer.Option("--importance", help="Importance 0..1 (default 0.5).")
    ] = None,
    ttl: Annotated[
        float | None, typer.Option("--ttl", help="Expire after this many seconds.")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Session id (conversation turns).")
    ] = None,
) -> None:
    """Save one memory and print the stored entry."""
    fields: dict[str, Any] = {
        "namespace": namespace,
        "kind": kind.value,
        "tags": tag or [],
        "metadata": parse_meta(meta or []),
    }
    if importance is not None:
        fields["importance"] = importance
    if ttl is not None:
        fields["ttl_seconds"] = ttl
    if session is not None:
        fields["session_id"] = session
    run(ctx, lambda engine: engine.add(text, **fields))


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    namespace: Namespace = "default",
    limit: Annotated[int, typer.Option("--limit", "-l", help="Most hits returned.")] = 10,
    mode: Annotated[
        ModeChoice, typer.Option("--mode", help="hybrid (BM25 + vector), vector or keyword.")
    ] = ModeChoice.hybrid,
    kind: Annotated[
        list[KindChoice] | None,
        typer.Option("--kind", "-k", help="Only these kinds (repeat)."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only entries with these tags.")
    ] = None,
    filter: Annotated[
        str | None,
        typer.Option("--filter", help='Metadata filter JSON: {"field": "speaker", "value": "Ann"}'),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the parts of each score.")
    ] = False,
) -> None:
    """Search memories (hybrid BM25 + vector by default), best first."""
    params: dict[str, Any] = {
        "namespace": namespace,
        "limit": limit,
        "mode": mode.value,
        "explain": explain,
        "filter": filter_from_json(filter, name="--filter"),
    }
    if kind:
        params["kinds"] = [k.value for k in kind]
    if tag:
        params["tags"] = tag
    run(ctx, lambda engine: engine.search(query, **params))


@app.command()
def get(
    ctx: typer.Context,
    id: EntryId,
    namespace: Namespace = "default",
) -> None:
    """Print one entry by id."""
    run(ctx, lambda engine: engine.get(id, namespace=namespace))


@app.command(name="list")
def list_entries(
    ctx: typer.Context,
    namespace: Namespace = "default",
    kind: Annotated[
        list[KindChoice] | None,
        typer.Option("--kind", "-k", help="Only these kinds (repeat)."),
    ] = None,
    session: Annotated[str | None, typer.Option("--session", help="Only this session.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-l", help="Page size (1..1000).")] = 50,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="next_cursor of the previous page.")
    ] = None,
) -> None:
    """List entries, newest first, one page at a time."""
    kinds: list[Kind] | None = [k.value for k in kind] if kind else None
    run(
        ctx,
        lambda engine: engine.list(
            namespace=namespace, kinds=kinds, session_id=session, limit=limit, cursor=cursor
        ),
    )


@app.command()
def delete(
    ctx: typer.Context,
    id: EntryId,
    namespace: Namespace = "default",
) -> None:
    """Delete one entry for good."""
    state = state_of(ctx)
    with state.backend() as engine:
        engine.delete(id, namespace=namespace)
    render({"deleted": id, "namespace": namespace}, state.output)


@app.command()
def forget(
    ctx: typer.Context,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Erase this namespace (or narrow to it)."),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Erase this user's memories.")] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Erase this agent's memories and episodes.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a namespace, a user or an agent completely (every kind, caches, on-disk copies).

    Example: memoryd forget --user ann --yes
    """
    scope = {"namespace": namespace, "user_id": user, "agent_id": agent}
    given = {k: v for k, v in scope.items() if v is not None}
    if not given:
        raise ValidationError("give --namespace, --user or --agent")
    what = ", ".join(f"{k}={v!r}" for k, v in given.items())
    if not yes and not typer.confirm(f"Erase everything of {what} for good?", err=True):
        raise typer.Exit(1)
    run(ctx, lambda engine: engine.forget(namespace=namespace, user_id=user, agent_id=agent))


@app.command()
def stats(ctx: typer.Context) -> None:
    """Counts, sizes and index state of the store."""
    run(ctx, lambda engine: engine.stats())

"""Commands on memories: add, search, context, get, list, delete, stats, forget.

Each command parses its options, calls the backend (:class:`memoryd.Memory`
in-process or :class:`memoryd.Client` over HTTP) and renders the result.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from memoryd.bounds import MAX_PAGE_LIMIT
from memoryd.cli.app import app, id_argument, run
from memoryd.cli.options import NAMESPACE, deleted, option, plain_command
from memoryd.cli.render import rows_table
from memoryd.client import Client
from memoryd.errors import ValidationError
from memoryd.inputs import filter_from_json
from memoryd.operations.bodies import ContextRequest
from memoryd.types import Kind, MemoryInput, PackedContext, SearchParams

__all__ = ["Meta", "parse_meta"]

#: The arguments that name one entry.
_ENTRY = {"id": Annotated[str, id_argument("entry")], "namespace": NAMESPACE}
#: ``--meta key=value`` (repeat), parsed by :func:`parse_meta`.
Meta = Annotated[
    list[str] | None,
    typer.Option("--meta", "-m", help="Metadata key=value; JSON values parsed (repeat)."),
]
_KINDS_HELP = "Only these kinds (repeat)."


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
    namespace: str = NAMESPACE,
    kind: Kind = option(MemoryInput, "kind", "--kind", "-k", help="Entry kind."),
    tag: list[str] | None = option(MemoryInput, "tags", "--tag", "-t", help="Tag (repeat)."),
    meta: Meta = None,
    importance: float = option(MemoryInput, "importance", "--importance", help="Importance."),
    ttl: float | None = option(
        MemoryInput, "ttl_seconds", "--ttl", help="Expire after this many seconds."
    ),
    session: str | None = option(
        MemoryInput, "session_id", "--session", help="Session id (conversation turns)."
    ),
) -> None:
    """Save one memory and print the stored entry."""
    fields = {
        "namespace": namespace,
        "kind": kind,
        "tags": tag or [],
        "metadata": parse_meta(meta or []),
        "importance": importance,
        "ttl_seconds": ttl,
        "session_id": session,
    }
    run(ctx, lambda engine: engine.add(text, **fields))


plain_command(
    "search",
    "Search memories (hybrid BM25 + vector by default), best first.",
    query=Annotated[str, typer.Argument(help="What to look for.")],
    namespace=NAMESPACE,
    limit=option(SearchParams, "limit", "--limit", "-l", help="Most hits returned."),
    mode=option(SearchParams, "mode", "--mode", help="hybrid (BM25 + vector), vector or keyword."),
    kinds=option(SearchParams, "kinds", "--kind", "-k", help=_KINDS_HELP),
    tags=option(SearchParams, "tags", "--tag", "-t", help="Only entries with these tags."),
    filter=Annotated[
        str | None,
        typer.Option(
            "--filter",
            help='Metadata filter JSON: {"field": "speaker", "value": "Ann"}',
            parser=lambda text: filter_from_json(text, name="--filter"),
        ),
    ],
    explain=option(SearchParams, "explain", "--explain", help="Show the parts of each score."),
)


def _context_table(packed: PackedContext) -> Any:
    """The snippets in reading order, whole (they are what was asked for), with their citations."""
    title = (
        f"{len(packed.snippets)} snippets, {packed.tokens_used}/{packed.budget_tokens} tokens, "
        f"{packed.left_out} left out, {packed.merged} merged"
    )
    columns = ("id", "session", "created_at", "tokens", "text")
    rows = (
        (
            "\n".join(str(i) for i in s.ids),
            s.session_id or "",
            s.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{s.tokens}{' (cut)' if s.truncated else ''}",
            s.text,
        )
        for s in packed.snippets
    )
    return rows_table(columns, rows, title=title)


plain_command(
    "context",
    "The best memories for a query packed into a token budget, cited by id, in reading order.",
    table=_context_table,
    query=Annotated[str, typer.Argument(help="What the task needs to recall.")],
    budget_tokens=option(
        ContextRequest, "budget_tokens", "--budget", "-b", help="Most tokens of snippet text."
    ),
    namespace=NAMESPACE,
    limit=option(ContextRequest, "limit", "--limit", "-l", help="Most search hits considered."),
    mode=option(
        ContextRequest, "mode", "--mode", help="hybrid (BM25 + vector), vector or keyword."
    ),
    kinds=option(ContextRequest, "kinds", "--kind", "-k", help=_KINDS_HELP),
    tags=option(ContextRequest, "tags", "--tag", "-t", help="Only entries with these tags."),
    session_id=option(ContextRequest, "session_id", "--session", help="Only this session."),
)
plain_command("get", "Print one entry by id.", **_ENTRY)
plain_command(
    "list",
    "List entries, newest first, one page at a time.",
    namespace=NAMESPACE,
    kinds=option(Client.list, "kinds", "--kind", "-k", help=_KINDS_HELP),
    session_id=option(Client.list, "session_id", "--session", help="Only this session."),
    limit=option(Client.list, "limit", "--limit", "-l", help=f"Page size (1..{MAX_PAGE_LIMIT})."),
    cursor=option(Client.list, "cursor", "--cursor", help="next_cursor of the previous page."),
)


plain_command(
    "delete",
    "Delete one entry for good.",
    shown=deleted("id"),
    **_ENTRY,
)


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


plain_command("stats", "Counts, sizes and index state of the store.")

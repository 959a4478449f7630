"""Conversation context: the previous turn of a session, indexed with each message.

A conversation turn is indexed in FTS together with the turn before it in
its session (``Settings.message_context``; the LoCoMo gain is in
docs/PERFORMANCE.md): "yes, on Tuesday" is found by what it answered.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from memoryd.store.filters import SqlWhere, scope_where
from memoryd.store.fts import index_text
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import MemoryEntry, MemoryInput

__all__ = ["batch_contexts", "entry_context", "previous_turn", "successor_contexts"]

_PAGE = 64


def _session_turns(namespace: str, session_id: str) -> SqlWhere:
    """The scope of every message of a session, history (superseded turns) included."""
    return scope_where(
        namespace=namespace,
        now=time.time(),
        kinds=["message"],
        session_id=session_id,
        include_superseded=True,
    )


def previous_turn(
    store: SQLiteStore,
    namespace: str,
    session_id: str,
    before: float | None,
    *,
    exclude: Collection[str] = (),
) -> str:
    """Content of the latest message of ``session_id`` at or before ``before`` (epoch s), or "".

    History (superseded turns) counts; ``exclude`` leaves entries out by id
    (the turn itself, turns being deleted).
    """
    where = _session_turns(namespace, session_id)
    if before is not None:
        where.add("m.created_at <= ?", before)
    order = "ORDER BY m.created_at DESC, m.rowid DESC"
    page = min(len(exclude) + 1, _PAGE)
    while True:
        rows = store.select(where, order=order, limit=page)
        for row in rows:
            if str(row["id"]) not in exclude:
                return str(row["content"])
        if len(rows) < page:
            return ""
        last = rows[-1]  # every row of this page is excluded: continue below it
        where.add(
            "(m.created_at < ?) OR (m.created_at = ? AND m.rowid < ?)",
            last["created_at"],
            last["created_at"],
            last["rowid"],
        )


def batch_contexts(
    store: SQLiteStore, items: Sequence[MemoryInput | MemoryEntry], *, enabled: bool
) -> list[str]:
    """Previous-turn text for each message of a batch, in order ("" for other kinds).

    Turns of one session inside the batch follow each other; the first one of
    a session looks up the store (one query per session, not per turn).
    """
    if not enabled:
        return ["" for _ in items]
    last: dict[tuple[str, str], str] = {}
    out: list[str] = []
    for item in items:
        if item.kind != "message" or item.session_id is None:
            out.append("")
            continue
        key = (item.namespace, item.session_id)
        if key not in last:
            before = item.created_at.timestamp() if item.created_at else None
            last[key] = previous_turn(store, item.namespace, item.session_id, before)
        out.append(last[key])
        last[key] = item.content
    return out


def entry_context(store: SQLiteStore, entry: MemoryEntry, *, enabled: bool) -> str:
    """Previous-turn text of a stored message ("" for other kinds or when disabled)."""
    if not enabled or entry.kind != "message" or entry.session_id is None:
        return ""
    return previous_turn(
        store,
        entry.namespace,
        entry.session_id,
        entry.created_at.timestamp(),
        exclude=(str(entry.id),),
    )


def successor_contexts(
    store: SQLiteStore, deleted: Sequence[MemoryEntry], *, enabled: bool
) -> dict[int, str]:
    """New FTS context (rowid → indexed text) of the turns that followed deleted turns.

    A turn's FTS ``context`` copies the previous turn's text; when that turn
    is deleted, the turns right after it get their previous turn again,
    leaving out every deleted entry, so the deleted text keeps no copy.
    Candidates are the turns of its session from its time up to the first
    later time (ties in ``created_at`` included).
    """
    if not enabled:
        return {}
    gone = {str(e.id) for e in deleted}
    out: dict[int, str] = {}
    for entry in deleted:
        if entry.kind != "message" or entry.session_id is None:
            continue
        where = _session_turns(entry.namespace, entry.session_id)
        at = entry.created_at.timestamp()
        where.add("m.created_at >= ?", at)
        rows = [
            r
            for r in store.select(where, order="ORDER BY m.created_at, m.rowid", limit=64)
            if str(r["id"]) not in gone
        ]
        later = [float(r["created_at"]) for r in rows if float(r["created_at"]) > at]
        until = later[0] if later else at
        for row in rows:
            if float(row["created_at"]) > until or int(row["rowid"]) in out:
                continue
            text = previous_turn(
                store,
                entry.namespace,
                entry.session_id,
                float(row["created_at"]),
                exclude=gone | {str(row["id"])},
            )
            out[int(row["rowid"])] = index_text(text)
    return out

"""Change a table's constraints: SQLite's table rebuild ("12-step" procedure).

SQLite's ``ALTER TABLE`` cannot drop or change a constraint (and cannot drop
the automatic index behind a ``UNIQUE`` column). The documented way is to
build the new table beside the old one, copy the rows, drop the old table,
rename the new one and recreate its indexes and triggers, all in one
transaction (https://sqlite.org/lang_altertable.html#otheralter, "Making
Other Kinds Of Table Schema Changes"). :func:`rebuild_table` does steps 3-10
of it inside the caller's transaction:

3. remember the ``CREATE INDEX`` and ``CREATE TRIGGER`` statements of the table;
4. ``CREATE TABLE`` the new definition under a temporary name;
5. copy every row, ``rowid`` included (``rowid`` is the key of the FTS and
   vector tables: it must not change);
6. drop the old table (its indexes and triggers go with it; ``DROP TABLE``
   fires no ``DELETE`` trigger);
7. rename the new table to the old name;
8. recreate the remembered indexes and triggers;
10. ``PRAGMA foreign_key_check`` must report nothing.

Steps 1, 2, 11 and 12 (foreign keys off, the transaction, its commit, foreign
keys on again) belong to the caller. ``PRAGMA foreign_keys`` cannot change
inside a transaction; memoryd's tables declare no foreign keys, so none can
fire during the rebuild, and step 10 checks that nothing dangles.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from memoryd.errors import StorageError

__all__ = ["rebuild_table"]


def rebuild_table(
    conn: sqlite3.Connection, table: str, create_sql: str, columns: Sequence[str]
) -> int:
    """Replace ``table`` by the definition ``create_sql``, keeping rows, rowids, indexes, triggers.

    Args:
        conn: a connection inside an open write transaction (``BEGIN IMMEDIATE``).
        table: the table to rebuild, e.g. ``"memories"``.
        create_sql: ``CREATE TABLE {name} (...)``; ``{name}`` is replaced by the
            temporary name. It must have every column of ``columns``.
        columns: the columns copied (``rowid`` is always copied first).

    Returns:
        The number of rows copied.

    Raises:
        StorageError: the copy lost rows or ``foreign_key_check`` found dangling keys.
    """
    if not conn.in_transaction:
        raise StorageError(f"rebuilding {table} needs an open transaction")
    temporary = f"{table}_rebuild"
    remembered = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_schema WHERE tbl_name = ? AND type IN ('index', 'trigger') "
            "AND sql IS NOT NULL ORDER BY type, name",
            (table,),
        )
    ]
    conn.execute(create_sql.replace("{name}", temporary))
    names = ", ".join(["rowid", *columns])
    copied = conn.execute(
        f"INSERT INTO {temporary}({names}) SELECT {names} FROM {table} ORDER BY rowid"  # nosec B608 # our table and column names
    ).rowcount
    before = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # nosec B608 # our table
    if copied != before:
        raise StorageError(f"rebuilding {table} copied {copied} of {before} rows")
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {temporary} RENAME TO {table}")
    for sql in remembered:
        conn.execute(sql)
    dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise StorageError(f"rebuilding {table} left dangling foreign keys: {dangling[:5]}")
    return int(copied)

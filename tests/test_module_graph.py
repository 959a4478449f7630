"""The shape of the engine: no import cycles, SQL only in ``store/``, composition, no mixins.

The source is parsed (``ast``): every ``import`` counts, also those under
``TYPE_CHECKING`` and inside functions, so a cycle hidden behind a lazy
import is still found. SQL is a string constant starting with an SQL verb,
or a call of ``execute``/``executemany``/``executescript``.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

from memoryd import Memory
from memoryd.store.sqlite import SQLiteStore
from memoryd.store.vector_index import VectorIndex

SRC = Path(__file__).resolve().parent.parent / "src" / "memoryd"
_SQL = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|WITH|REPLACE|VACUUM)\s"
)
_EXECUTE = {"execute", "executemany", "executescript"}


def _module_name(path: Path, root: Path) -> str:
    parts = ("memoryd", *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = SRC) -> dict[str, set[str]]:
    """Module → the ``memoryd`` modules it imports (anywhere in its source)."""
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module in modules:
                targets.add(node.module)
                targets.update(
                    f"{node.module}.{a.name}"
                    for a in node.names
                    if f"{node.module}.{a.name}" in modules
                )
        graph[name] = targets - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, set()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def sql_outside_store(root: Path = SRC) -> Iterator[str]:
    """``path:line`` of every SQL string or ``execute`` call outside ``store/``."""
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _SQL.match(node.value)
            ) or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _EXECUTE
            ):
                yield f"{path.relative_to(root)}:{node.lineno}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_src_has_no_import_cycles() -> None:
    graph = import_graph()
    assert "memoryd.workers" in graph and "memoryd.engine" in graph  # the scan saw the tree
    assert cycles(graph) == []


def test_the_sql_scan_finds_sql(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "ok.py").write_text('conn.execute("SELECT 1")\n', "utf-8")
    (tmp_path / "engine.py").write_text(
        'Q = "SELECT id FROM t"\nconn.executemany(Q, [])\nlabel = "Selected rows"\n', "utf-8"
    )
    assert list(sql_outside_store(tmp_path)) == ["engine.py:1", "engine.py:2"]


def test_all_sql_is_behind_store() -> None:
    assert list(sql_outside_store()) == []


def test_memory_is_composed_and_delegates_each_public_method() -> None:
    assert Memory.__mro__ == (Memory, object)  # no mixins
    public = {
        n for n in vars(Memory) if not n.startswith("_") and inspect.isfunction(vars(Memory)[n])
    }
    delegated = {n for n in public if hasattr(vars(Memory)[n], "__wrapped__")}
    assert public - delegated == {"close"}  # the facade's own lifecycle
    for name in delegated:
        target = inspect.unwrap(vars(Memory)[name])
        assert target.__name__ == name
        assert target.__module__ != "memoryd.engine", name  # declared in its component
        assert inspect.signature(vars(Memory)[name]) == inspect.signature(target)
        assert vars(Memory)[name].__doc__ == target.__doc__


def test_the_store_is_composed() -> None:
    assert SQLiteStore.__mro__ == (SQLiteStore, object)
    assert VectorIndex.__mro__ == (VectorIndex, object)


def test_no_class_name_is_defined_twice() -> None:
    names: dict[str, str] = {}
    twice = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                where = str(path.relative_to(SRC))
                if node.name in names:
                    twice.append(f"{node.name}: {names[node.name]}, {where}")
                names.setdefault(node.name, where)
    assert twice == []

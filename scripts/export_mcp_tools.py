"""Write the MCP ``tools/list`` answer to a file (default: the wire snapshot the tests check).

The answer is what a client receives: every tool in declaration order with its
description, annotations, input and output schema (built without a store or
daemon: ``tools/list`` calls no backend). ``tests/mcp_server/test_tools_snapshot.py``
fails when the checked-in snapshot differs from what the code produces, so a
change of the MCP wire format is always a visible diff.

``--compare OLD`` prints how the current answer differs from an older snapshot
(e.g. one written on ``main``), path by path: ``+`` added, ``-`` removed, ``~``
changed. Before comparing, both sides are brought to one spelling of the same
schemas (``"type": [A, B]`` as ``anyOf`` of single types, a subschema that
constrains nothing as the ``anyOf`` of the six JSON types), so re-spelling
alone shows as no difference; it exits 1 when anything was removed or changed.

Usage::

    python scripts/export_mcp_tools.py [--check] [PATH]
    python scripts/export_mcp_tools.py --compare OLD.json [PATH]

``--check`` writes nothing and exits 1 when ``PATH`` differs from the answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio

DEFAULT_TARGET = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "mcp_server"
    / "snapshots"
    / "tools_list.json"
)


def tools_list() -> dict[str, Any]:
    """The ``tools/list`` result as JSON (camelCase keys, unset fields left out)."""
    from mcp_types import ListToolsResult

    from memoryd.client import Client
    from memoryd.mcp.backend import ClientBackend
    from memoryd.mcp.tools import build_server

    server = build_server(ClientBackend(Client))  # the factory is never called here
    tools = anyio.run(server.list_tools)
    result: dict[str, Any] = ListToolsResult(tools=tools).model_dump(
        by_alias=True, mode="json", exclude_none=True
    )
    return result


def render(document: dict[str, Any]) -> str:
    """Stable JSON text: keys sorted (list order kept), two-space indent, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_ANY = [{"type": t} for t in ("object", "array", "string", "number", "boolean", "null")]


def _one_spelling(node: Any, *, schema: bool = False) -> Any:
    """Type arrays as ``anyOf`` of single types; ``{}``-like subschemas as "any JSON"."""
    if isinstance(node, list):
        return [_one_spelling(item, schema=schema) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: _one_spelling(value, schema=schema or key.endswith("Schema"))
        for key, value in node.items()
    }
    if schema and isinstance(out.get("type"), list):
        out["anyOf"] = [{"type": t} for t in out.pop("type")]
    if schema and not (set(out) - {"title", "description", "default"}) and out:
        out["anyOf"] = _ANY
    return out


def _by_name(document: dict[str, Any]) -> dict[str, Any]:
    tools = {tool["name"]: tool for tool in document["tools"]}
    return {"order": [tool["name"] for tool in document["tools"]], "tools": tools}


def differences(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """Lines ``+ path``, ``- path``, ``~ path: old -> new`` between two JSON values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() | new.keys():
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                yield f"- {where}"
            elif key not in old:
                yield f"+ {where}"
            else:
                yield from differences(old[key], new[key], where)
    elif isinstance(old, list) and isinstance(new, list) and path.endswith(".anyOf"):
        for item in new:
            if item not in old:
                yield f"+ {path}[{json.dumps(item, sort_keys=True)}]"
        for item in old:
            if item not in new:
                yield f"- {path}[{json.dumps(item, sort_keys=True)}]"
    elif path == "order" and isinstance(old, list) and isinstance(new, list):
        if [name for name in new if name in old] != old:
            yield f"~ order: {old} -> {new}"
        yield from (f"+ order[{name}]" for name in new if name not in old)
    elif old != new:
        yield f"~ {path}: {json.dumps(old)} -> {json.dumps(new)}"


def main(argv: list[str] | None = None) -> int:
    """Write, check or compare the snapshot; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--compare", type=Path, help="an older snapshot to diff against")
    args = parser.parse_args(argv)
    if args.compare:
        old = _by_name(_one_spelling(json.loads(args.compare.read_text("utf-8"))))
        new = _by_name(_one_spelling(json.loads(args.path.read_text("utf-8"))))
        lines = sorted(differences(old, new))
        print("\n".join(lines) or "no difference")
        return 1 if any(not line.startswith("+") for line in lines) else 0
    text = render(tools_list())
    if args.check:
        current = args.path.read_text("utf-8") if args.path.is_file() else ""
        if current != text:
            print(f"{args.path} is out of date: run python scripts/export_mcp_tools.py")
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, "utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

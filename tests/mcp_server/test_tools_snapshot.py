"""The MCP wire format does not change unseen: ``tools/list`` against a checked-in snapshot.

``snapshots/tools_list.json`` is the ``tools/list`` answer (tools in declaration
order). When a change to a tool is meant, regenerate it and review the diff::

    python scripts/export_mcp_tools.py
    python scripts/export_mcp_tools.py --compare OLD.json   # only '+' lines: it only adds
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "export_mcp_tools.py"
SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"
REGENERATE = "run `python scripts/export_mcp_tools.py` and review the diff"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_mcp_tools", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tools_list_matches_the_snapshot() -> None:
    script = _script()
    assert script.render(script.tools_list()) == SNAPSHOT.read_text("utf-8"), REGENERATE


def test_the_snapshot_is_what_the_daemon_answers(http_daemon: Any) -> None:
    """The same document on the wire, over the stateless protocol (one POST)."""
    answer = http_daemon.modern("tools/list")
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    result.pop("_meta", None)  # the 2026-07-28 serverInfo stamp, not part of the tool list
    assert result == json.loads(SNAPSHOT.read_text("utf-8")), REGENERATE


def test_compare_reports_a_removal_and_a_change(tmp_path: Path) -> None:
    script = _script()
    old = json.loads(SNAPSHOT.read_text("utf-8"))
    new = json.loads(json.dumps(old))
    new["tools"][0]["description"] = "changed"
    del new["tools"][1]["annotations"]
    new["tools"][2]["outputSchema"]["properties"]["extra"] = {"type": "string"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    lines = sorted(script.differences(script._by_name(old), script._by_name(new)))
    assert lines == [
        f"+ tools.{new['tools'][2]['name']}.outputSchema.properties.extra",
        f"- tools.{new['tools'][1]['name']}.annotations",
        f'~ tools.{new["tools"][0]["name"]}.description: "{old["tools"][0]["description"]}"'
        ' -> "changed"',
    ]
    assert script.main(["--compare", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 1
    assert script.main(["--compare", str(SNAPSHOT), str(SNAPSHOT)]) == 0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"type": ["string", "null"]}, {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        ({"title": "Value"}, {"title": "Value", "anyOf": [{"type": "object"}]}),
    ],
)
def test_compare_sees_through_respelling_only(old: Any, new: Any) -> None:
    """A type array and its ``anyOf`` are the same schema; ``{}`` and a narrowed one are not."""
    script = _script()

    def doc(schema: Any) -> Any:
        tool = {"name": "t", "inputSchema": {"type": "object", "properties": {"v": schema}}}
        return script._by_name(script._one_spelling({"tools": [tool]}))

    lines = list(script.differences(doc(old), doc(new)))
    assert (lines == []) is ("anyOf" in old or "type" in old)

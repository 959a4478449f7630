"""A third-party client: the MCP Inspector CLI (npm ``@modelcontextprotocol/inspector``).

Installed by ``make setup-node`` (pinned in ``tests/tools/package-lock.json``).
It drives both transports: ``memoryd mcp`` over stdio and the daemon's ``/mcp``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import waits
from memoryd import Settings
from memoryd.lifecycle.spawn import settings_env

INSPECTOR = Path(__file__).parents[1] / "tools" / "node_modules" / ".bin" / "mcp-inspector"
MEMORYD = str(Path(sys.executable).with_name("memoryd"))

pytestmark = [
    pytest.mark.slow,  # a node process per call
    pytest.mark.skipif(
        not INSPECTOR.exists(), reason="run `make setup-node` (part of `make test`) first"
    ),
]


def _inspect(
    target: list[str], *args: str, env_args: list[str] | None = None, tool_error: bool = False
) -> dict[str, Any]:
    """Run the Inspector CLI; the JSON result it prints (it exits 5 on an isError result).

    ``tools/list`` runs with ``--strict``: the Inspector lints every tool schema for
    portability and prints each finding on stderr; there must be none (it exits 6 on
    an error-severity finding, and prints ``Warning: tool ...`` for a warning).
    """
    strict = ["--strict"] if args[:2] == ("--method", "tools/list") else []
    done = subprocess.run(
        [str(INSPECTOR), "--cli", *strict, *(env_args or []), *target, *args],
        capture_output=True,
        text=True,
        timeout=waits.budget(180),
    )
    assert done.returncode == (5 if tool_error else 0), done.stderr + done.stdout
    findings = [
        line for line in done.stderr.splitlines() if line.startswith(("Warning:", "Error:"))
    ]
    assert findings == [], done.stderr  # 0 schema portability warnings (issue 12: was 77)
    decoder = json.JSONDecoder()
    text, position, objects = done.stdout, 0, []
    while (start := text.find("{", position)) >= 0:
        obj, position = decoder.raw_decode(text, start)
        objects.append(obj)
    result: dict[str, Any] = objects[-1]
    return result


def _stdio_target(settings: Settings, memoryd: str) -> tuple[list[str], list[str]]:
    # The Inspector starts stdio servers with a minimal environment: pass settings with -e.
    # PYTHONPATH too, so the child imports the memoryd under test (as the other stdio tests).
    path = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    env = {**settings_env(settings), "HF_HUB_OFFLINE": "1", **path}
    env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    return [memoryd, "mcp"], env_args


def _check_transport(run: Callable[..., dict[str, Any]]) -> None:
    listed = run("--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    assert {"memory_save", "memory_search", "memory_get"} <= names
    saved = run(
        "--method",
        "tools/call",
        "--tool-name",
        "memory_save",
        "--tool-arg",
        "content=Inspector remembers the launch code is 1234",
    )
    assert saved.get("isError") in (None, False), saved
    memory_id = saved["structuredContent"]["memory"]["id"]
    found = run(
        "--method",
        "tools/call",
        "--tool-name",
        "memory_search",
        "--tool-arg",
        "query=launch code",
        "limit=3",
    )
    assert found["structuredContent"]["hits"][0]["memory"]["id"] == memory_id
    assert found["structuredContent"]["served_by"] == "daemon"
    missing = run(
        "--method",
        "tools/call",
        "--tool-name",
        "memory_get",
        "--tool-arg",
        "id=00000000-0000-4000-8000-000000000000",
        tool_error=True,
    )
    assert missing["isError"] is True
    assert json.loads(missing["content"][0]["text"])["error"]["code"] == "not_found"


def test_inspector_over_stdio(lifecycle_settings: Settings) -> None:
    target, env_args = _stdio_target(lifecycle_settings, MEMORYD)
    _check_transport(lambda *args, **kw: _inspect(target, *args, env_args=env_args, **kw))


def test_inspector_over_streamable_http(http_daemon: Any) -> None:
    target = [
        http_daemon.mcp_url,
        "--transport",
        "http",
        "--header",
        f"Authorization: Bearer {http_daemon.token}",
    ]
    _check_transport(lambda *args, **kw: _inspect(target, *args, **kw))

"""``memoryd episode ...`` and ``memoryd pattern ...`` in-process on a real store."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import Result

Invoke = Callable[..., Result]


def _json(result: Result) -> object:
    return json.loads(result.stdout)


def test_episode_and_pattern_commands(cli: Invoke) -> None:
    created = _json(
        cli(
            "-f",
            "json",
            "episode",
            "create",
            "Fix the login bug",
            "-d",
            "web",
            "--task-type",
            "debugging",
            "--language",
            "python",
        )
    )
    assert isinstance(created, dict)
    eid = created["id"]
    cli("episode", "log-step", eid, "--tool", "read_file", "--action", "read the view")
    cli(
        "episode",
        "log-step",
        eid,
        "--tool",
        "run_tests",
        "--action",
        "check whether it fails",
        "--status",
        "error",
        "--message",
        "AssertionError",
    )
    cli("episode", "log-step", eid, "--tool", "run_tests", "--action", "run tests", "-p", "k=1")
    pack = _json(cli("-f", "json", "episode", "checkpoint", eid, "--note", "halfway"))
    assert isinstance(pack, dict) and pack["checkpoint"] == 1
    done = _json(cli("-f", "json", "episode", "complete", eid, "-o", "success", "--verdict", "ok"))
    assert isinstance(done, dict) and done["extraction"]["queued"] is True
    assert done["episode"]["reward"]["base"] == 1.0
    err = cli("episode", "complete", eid, "-o", "failure", code=2)
    assert "error[validation_error]" in err.stderr and "--reason" in err.stderr
    again = cli("episode", "complete", eid, "-o", "failure", "--reason", "x", code=1)
    assert "error[episode_already_completed]" in again.stderr
    listed = cli("episode", "list", "-d", "web")
    assert eid in listed.stdout and "debugging" in listed.stdout
    report = _json(cli("-f", "json", "pattern", "extract"))
    assert isinstance(report, dict) and report["episodes"] == 1
    patterns = _json(cli("-f", "json", "pattern", "list", "-d", "web"))
    assert isinstance(patterns, list) and {p["kind"] for p in patterns} >= {"tool_sequence"}
    top = _json(cli("-f", "json", "pattern", "recommend", "Fix a login bug", "-d", "web"))
    assert isinstance(top, list) and top[0]["pattern"]["domain"] == "web"
    pid = top[0]["pattern"]["id"]
    cli("pattern", "feedback", pid, "--failure", "--reward", "0.1")
    eff = _json(cli("-f", "json", "pattern", "effectiveness", pid))
    assert isinstance(eff, dict) and eff["applied_failures"] == 1
    assert pid in cli("pattern", "effectiveness").stdout
    assert "description" in cli("pattern", "search", "run tests").stdout
    assert pid in cli("pattern", "view", pid).stdout
    decay = _json(
        cli(
            "-f", "json", "pattern", "decay", "--dry-run", "--min-score", "1", "--min-age-days", "0"
        )
    )
    assert isinstance(decay, dict) and decay["checked"] >= 1
    resumed = cli("episode", "resume", eid, code=1)
    assert "episode_already_completed" in resumed.stderr
    cli("episode", "delete", eid)
    assert "episode_not_found" in cli("episode", "view", eid, code=1).stderr

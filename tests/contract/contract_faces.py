"""The five faces of the contract suite, each turning an operation call into its own form.

Every face takes ``run(op, args)`` — an operation name of the registry and the
library's keyword arguments — and returns the result as plain JSON data, or
raises :class:`Failed` with the stable error code the face answered. The
library and the client call the method; the MCP faces call the tool the
registry names (over stdio: ``memoryd mcp``; over HTTP: the daemon's
``/mcp``); the CLI face runs the command the registry names with ``--format
json`` and reads stdout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from anyio.from_thread import BlockingPortal
from mcp import Client as McpClient
from pydantic_core import to_jsonable_python
from typer.testing import CliRunner

from memoryd import Client, Memory, MemorydError
from memoryd.cli.main import app as cli_app
from memoryd.operations import Face, operation


class Failed(Exception):
    """A face answered an error: ``code`` is its stable error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class EngineFace:
    """``Memory`` (library) or ``Client`` (over HTTP): call the method."""

    face: Face
    engine: Memory | Client

    def run(self, op: str, args: dict[str, Any]) -> Any:
        try:
            value = getattr(self.engine, op)(**args)
        except MemorydError as exc:
            raise Failed(exc.code) from exc
        if op == "export":
            value = list(value)
        return to_jsonable_python(value, by_alias=True)


#: MCP tool arguments where they differ from the library's, per operation.
_MCP_ARGS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "log_step": lambda a: {k: v for k, v in a.items() if k != "result"} | a["result"],
    "retrieve_context": lambda a: {"query" if k == "task" else k: v for k, v in a.items()},
    "start_episode": lambda a: (
        {k: v for k, v in a.items() if k != "context"} | dict(a.get("context") or {})
    ),
}
#: The tool of an operation served by several (``stats``: ``get_metrics``).
_MCP_TOOL = {"stats": "get_metrics"}


#: The field of each tool's structured result that holds what the library returns
#: (``None``: the whole result, as for a page or a search).
_MCP_FIELD = {
    "add": "memory",
    "get": "memory",
    "update": "memory",
    "supersede": "memory",
    "delete": None,
    "append": "memory",
    "last_messages": "messages",
    "set_state": "value",
    "get_state": "value",
    "start_episode": "episode",
    "log_step": "step",
    "complete_episode": "completion",
    "retrieve_context": "context",
    "recommend_patterns": "patterns",
    "record_feedback": "pattern",
    "analyze_patterns": "analysis",
    "advanced_pattern_analysis": "analysis",
    "stats": "stats",
}


def _mcp_value(op: str, data: dict[str, Any]) -> Any:
    """A tool's structured result as the library returns it.

    ``state_get`` answers ``found: false`` where the library raises
    ``not_found`` (agents get no error for an unset key): that is the same
    outcome, so it becomes ``Failed("not_found")`` here. Search hits carry
    the entry as ``memory``, the library's as ``entry``.
    """
    if op == "get_state" and data.get("found") is False:
        raise Failed("not_found")
    for hit in data.get("hits", []):
        hit["entry"] = hit.pop("memory")
    field = _MCP_FIELD.get(op)
    return data if field is None else data[field]


@dataclass
class McpFace:
    """An MCP session (stdio or streamable HTTP) driven from a blocking portal."""

    face_name: str
    portal: BlockingPortal
    client: McpClient
    face: Face = Face.MCP

    def run(self, op: str, args: dict[str, Any]) -> Any:
        tool = _MCP_TOOL.get(op) or operation(op).tools[0]
        arguments = to_jsonable_python(_MCP_ARGS.get(op, dict)(args))
        result = self.portal.call(self.client.call_tool, tool, arguments)
        text = result.content[0].text  # type: ignore[union-attr]
        if result.is_error:
            raise Failed(json.loads(text)["error"]["code"])
        assert json.loads(text) == result.structured_content, "text and structured content differ"
        return _mcp_value(op, dict(result.structured_content or {}))


@contextmanager
def mcp_face(name: str, portal: BlockingPortal, transport: Any) -> Iterator[McpFace]:
    """An open MCP session over ``transport`` as a face (closed on exit)."""
    manager: AbstractContextManager[McpClient] = portal.wrap_async_context_manager(
        McpClient(transport)
    )
    with manager as client:
        yield McpFace(name, portal, client)


def _opts(args: dict[str, Any], flags: dict[str, str]) -> list[str]:
    """``--flag value`` for each argument named in ``flags`` (lists repeat the flag)."""
    out: list[str] = []
    for name, flag in flags.items():
        value = args.get(name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            out += [flag, str(item)]
    return out


def _ns(args: dict[str, Any]) -> list[str]:
    return ["--namespace", args["namespace"]] if "namespace" in args else []


def _step(a: dict[str, Any]) -> list[str]:
    status = _opts(a | a["result"], {"tool": "--tool", "action": "--action", "status": "--status"})
    return ["episode", "log-step", a["episode_id"], *status, *_ns(a)]


def _complete(a: dict[str, Any]) -> list[str]:
    outcome = a["outcome"]
    argv = ["episode", "complete", a["episode_id"], "-o", outcome["type"], *_ns(a)]
    return argv + (["--verdict", outcome["verdict"]] if outcome.get("verdict") else [])


#: argv (after ``--format json``) of each operation's CLI command, from library arguments.
_CLI: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "add": lambda a: ["add", a["content"], *_ns(a), *_opts(a, {"tags": "--tag"})],
    "get": lambda a: ["get", a["id"], *_ns(a)],
    "delete": lambda a: ["delete", a["id"], *_ns(a)],
    "list": lambda a: ["list", *_ns(a), *_opts(a, {"limit": "--limit"})],
    "search": lambda a: ["search", a["query"], *_ns(a), *_opts(a, {"limit": "--limit"})],
    "pack_context": lambda a: (
        ["context", a["query"], *_ns(a), *_opts(a, {"budget_tokens": "--budget"})]
    ),
    "forget": lambda a: ["forget", *_ns(a), "--yes"],
    "stats": lambda a: ["stats"],
    "verify_storage": lambda a: ["storage", "verify"],
    "start_episode": lambda a: (
        ["episode", "create", a["task_description"], *_ns(a)] + _opts(a, {"domain": "--domain"})
    ),
    "log_step": _step,
    "complete_episode": _complete,
    "get_episode": lambda a: ["episode", "view", a["episode_id"], *_ns(a)],
    "list_episodes": lambda a: ["episode", "list", *_ns(a)],
    "delete_episode": lambda a: ["episode", "delete", a["episode_id"], *_ns(a)],
    "checkpoint_episode": lambda a: ["episode", "checkpoint", a["episode_id"], *_ns(a)],
    "resume_episode": lambda a: ["episode", "resume", a["episode_id"], *_ns(a)],
    "extract_patterns": lambda a: ["pattern", "extract"],
    "list_patterns": lambda a: ["pattern", "list", *_ns(a)],
    "get_pattern": lambda a: ["pattern", "view", a["pattern_id"], *_ns(a)],
    "search_patterns": lambda a: ["pattern", "search", a["query"], *_ns(a)],
    "recommend_patterns": lambda a: ["pattern", "recommend", a["task"], *_ns(a)],
    "record_feedback": lambda a: (
        ["pattern", "feedback", a["pattern_id"], *_ns(a)]
        + (["--success"] if a.get("success") else ["--failure"])
    ),
    "decay_patterns": lambda a: ["pattern", "decay", "--dry-run", "--min-age-days", "0", *_ns(a)],
}
#: Operations whose command prints one field of the result (``pattern feedback``
#: prints the pattern's effectiveness): the face puts it back under that field.
_CLI_FIELD = {"record_feedback": "effectiveness"}
_ERROR = re.compile(r"error\[([a-z_]+)\]")


@dataclass
class CliFace:
    """``memoryd`` in-process (typer's runner) on its own store, ``--format json``."""

    env: dict[str, str]
    face: Face = Face.CLI

    def run(self, op: str, args: dict[str, Any]) -> Any:
        argv = ["--format", "json", *_CLI[op](args)]
        result = CliRunner().invoke(cli_app, argv, env=self.env)
        if result.exit_code != 0:
            found = _ERROR.search(result.stderr)
            assert found, (argv, result.exit_code, result.stderr, result.exception)
            raise Failed(found.group(1))
        value = json.loads(result.stdout) if result.stdout.strip() else None
        return {_CLI_FIELD[op]: value} if op in _CLI_FIELD else value


def cli_serves(op: str) -> bool:
    """Whether the CLI face can drive ``op`` here (its argv is known)."""
    return op in _CLI

"""Every command and group has help text (as sqlite-utils' test_docs does)."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from memoryd.cli.main import app


def _commands() -> list[tuple[str, ...]]:
    root = get_command(app)
    found: list[tuple[str, ...]] = [()]

    def walk(group: object, prefix: tuple[str, ...]) -> None:
        for name, command in getattr(group, "commands", {}).items():
            found.append((*prefix, name))
            walk(command, (*prefix, name))

    walk(root, ())
    return found


COMMANDS = _commands()


def test_expected_commands_exist() -> None:
    names = {" ".join(path) for path in COMMANDS}
    expected = {"add", "search", "get", "list", "delete", "import", "export", "stats", "serve"}
    assert expected | {"eval", "eval locomo", "eval longmemeval"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "memoryd")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    command = get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    for param in command.params:
        if param.param_type_name == "option" and param.name != "help":
            assert (param.help or "").strip(), f"{' '.join(path)} {param.name} has no help"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout and (command.help or "").split(".")[0][:30] in result.stdout

"""Errors: one line ``error[code]: message`` on stderr; exit 2 for usage/validation, 1 else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]


def _one_line(result: Result, code: str) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error[{code}]: "), lines[0]
    assert result.stdout == ""
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (["bogus"], "usage_error", 2),
        (["add"], "usage_error", 2),
        (["search", "x", "--mode", "fuzzy"], "usage_error", 2),
        (["add", "x", "--kind", "poem"], "usage_error", 2),
        (["add", "x", "--meta", "novalue"], "validation_error", 2),
        (["add", "x", "--importance", "7"], "validation_error", 2),
        (["add", "   "], "validation_error", 2),
        (["search", "x", "--filter", "{not json"], "validation_error", 2),
        (
            ["search", "x", "--filter", '{"field": "a", "op": "in", "value": 1}'],
            "validation_error",
            2,
        ),
        (["list", "--limit", "0"], "validation_error", 2),
        (["context", "x", "--budget", "15"], "validation_error", 2),
        (["context", "x", "--budget", "200001"], "validation_error", 2),
        (["context", "x", "--budget", "many"], "usage_error", 2),
        (["list", "--cursor", "garbage"], "validation_error", 2),
        (["get", "00000000-0000-0000-0000-000000000000"], "not_found", 1),
        (["delete", "00000000-0000-0000-0000-000000000000"], "not_found", 1),
        (["--url", "http://127.0.0.1:9", "stats"], "backend_unavailable", 1),
        (["eval", "locomo", "/no/such/file.json"], "invalid_path", 2),
        (["eval", "longmemeval", "/no/such/file.json.xz"], "invalid_path", 2),
        (["eval", "longmemeval", "/no/such/file.json", "--types", "trivia"], "validation_error", 2),
    ],
)
def test_errors_are_one_line(cli: Invoke, args: list[str], code: str, exit_code: int) -> None:
    result = cli(*args, code=exit_code)
    _one_line(result, code)


def test_bad_jsonl_names_the_line_and_imports_nothing(cli: Invoke, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "in.jsonl"
    path.write_text('{"content": "fine"}\n\n{"content": 5}\n', encoding="utf-8")
    line = _one_line(cli("import", str(path), code=2), "validation_error")
    assert line.startswith("error[validation_error]: line 3: ")
    assert '"total": 0' in cli("-f", "json", "stats").stdout

    path.write_text('{"content": "fine"}\n[1, 2]\n', encoding="utf-8")
    assert "line 2: expected a JSON object" in cli("import", str(path), code=2).stderr


def test_no_args_prints_help(cli: Invoke) -> None:
    result = cli(code=2)
    assert "Usage: memoryd" in result.output

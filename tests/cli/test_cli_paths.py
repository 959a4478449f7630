"""RELIABILITY.md S8 on the CLI: every bad path is one ``error[invalid_path]`` line, exit 2.

Covers each path the CLI takes: ``import FILE``, ``export FILE``, ``eval
locomo FILE --corrections FILE --out``, ``eval longmemeval FILE --out``,
``--data-dir`` and ``MEMORYD_CONFIG``. A refused path
is refused before the store is opened (the data dir is not even created),
so nothing is read, stored or written; a refused export leaves its folder
exactly as it was (no temporary file, a symlink and its target untouched).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]


def _refused(result: Result, reason_words: str) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error[invalid_path]: "), lines[0]
    assert reason_words in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]


def _tree(folder: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[str(path)] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(path)] = path.read_bytes()
        else:
            out[str(path)] = "dir" if path.is_dir() else "special"
    return out


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A folder with a folder, a FIFO, a regular file and a symlink to it."""
    folder = tmp_path / "files"
    (folder / "sub").mkdir(parents=True)
    os.mkfifo(folder / "fifo")
    (folder / "victim.jsonl").write_text("keep me\n")
    os.symlink("victim.jsonl", folder / "link.jsonl")
    return folder


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("missing.jsonl", "no such file"),
        ("sub", "is a folder"),
        ("fifo", "not a regular file"),
        ("victim.jsonl/x", "no such file"),
        ("a\x00b", "NUL byte"),
        ("x" * 300, "longer than 255 bytes"),
    ],
)
def test_import_refuses_a_bad_path_and_opens_nothing(
    cli: Invoke, data_dir: Path, files: Path, name: str, words: str
) -> None:
    _refused(cli("import", str(files / name), code=2), words)
    _refused(cli("import", "--format", "locomo", str(files / name), code=2), words)
    assert not data_dir.exists()


def test_import_of_an_empty_path_is_refused(cli: Invoke, data_dir: Path) -> None:
    _refused(cli("import", "", code=2), "the path is empty")
    assert not data_dir.exists()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("sub", "is a folder"),
        ("fifo", "not a regular file"),
        ("link.jsonl", "is a symlink"),
        ("no-folder/out.jsonl", "is missing"),
        ("victim.jsonl/out.jsonl", "is not a folder"),
        ("out\x00.jsonl", "NUL byte"),
    ],
)
def test_export_refuses_a_bad_target_and_writes_nothing(
    cli: Invoke, data_dir: Path, files: Path, name: str, words: str
) -> None:
    before = _tree(files)
    _refused(cli("export", str(files / name), code=2), words)
    assert _tree(files) == before
    assert not data_dir.exists()


def test_export_writes_a_private_whole_file_and_no_temporary(
    cli: Invoke, files: Path, tmp_path: Path
) -> None:
    cli("add", "the office is on floor 3")
    cli("add", "the pass code is 4411")
    target = files / "victim.jsonl"  # an existing regular file is replaced
    summary = json.loads(cli("-f", "json", "export", str(target)).stdout)
    assert summary == {"exported": 2, "path": str(target)}
    lines = target.read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["content"] for line in lines) == [
        "the office is on floor 3",
        "the pass code is 4411",
    ]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.readlink(files / "link.jsonl") == "victim.jsonl"
    assert sorted(p.name for p in files.iterdir()) == ["fifo", "link.jsonl", "sub", "victim.jsonl"]


def test_import_of_bad_utf8_is_a_validation_error_and_stores_nothing(
    cli: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"content": "fine"}\n{"content": "caf\xe9"}\n')
    line = cli("import", str(path), code=2).stderr.strip()
    assert line.startswith("error[validation_error]: line "), line
    assert "not UTF-8" in line
    assert '"total": 0' in cli("-f", "json", "stats").stdout


def test_data_dir_that_is_a_file_is_refused(cli: Invoke, files: Path) -> None:
    victim = files / "victim.jsonl"
    _refused(cli("--data-dir", str(victim), "stats", code=2), "exists and is not a folder")
    _refused(cli("--data-dir", str(victim / "store"), "stats", code=2), "a parent is a file")
    assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize(("name", "words"), [("sub", "is a folder"), ("fifo", "not a regular")])
def test_config_path_that_is_not_a_file_is_refused(
    cli: Invoke, data_dir: Path, files: Path, monkeypatch: pytest.MonkeyPatch, name: str, words: str
) -> None:
    monkeypatch.setenv("MEMORYD_CONFIG", str(files / name))
    line = _refused(cli("stats", code=2), words)
    assert "config path" in line
    assert not data_dir.exists()


def test_eval_refuses_bad_paths_before_it_starts(cli: Invoke, files: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "locomo.json"
    dataset.write_text("[]", encoding="utf-8")
    _refused(cli("eval", "locomo", str(files / "fifo"), code=2), "not a regular file")
    _refused(
        cli("eval", "locomo", str(dataset), "--out", str(files / "sub"), code=2), "is a folder"
    )
    _refused(
        cli("eval", "locomo", str(dataset), "--data-dir", str(files / "victim.jsonl"), code=2),
        "exists and is not a folder",
    )
    _refused(
        cli("eval", "locomo", str(dataset), "--corrections", str(files / "fifo"), code=2),
        "not a regular file",
    )
    _refused(cli("eval", "longmemeval", str(files / "fifo"), code=2), "not a regular file")
    _refused(
        cli("eval", "longmemeval", str(dataset), "--out", str(files / "sub"), code=2),
        "is a folder",
    )
    _refused(
        cli("eval", "longmemeval", str(dataset), "--data-dir", str(files / "victim.jsonl"), code=2),
        "exists and is not a folder",
    )


def test_paths_from_the_config_file_are_checked(
    cli: Invoke, data_dir: Path, files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("MEMORYD_CONFIG", str(config))
    for name in ("MEMORYD_DATA_DIR", "MEMORYD_MODEL_CACHE_DIR"):  # env would win over the file
        monkeypatch.delenv(name)
    store = f'data_dir = "{data_dir}"\n'
    for text, words in [
        ('data_dir = "a\\u0000b"\n', "NUL byte"),
        (f'data_dir = "{files / "victim.jsonl"}"\n', "exists and is not a folder"),
        (f'{store}token_file = "{files / "sub"}"\n', "token_file path"),
        (f'{store}log_file = "{files / "sub"}"\n', "log_file path"),
        (f'{store}model_cache_dir = "{files / "fifo"}"\n', "model_cache_dir path"),
    ]:
        config.write_text(text, encoding="utf-8")
        config.chmod(0o600)
        _refused(cli("stats", code=2), words)
    assert not data_dir.exists()


def test_a_commands_own_data_dir_wins_over_the_global_one(data_dir: Path, tmp_path: Path) -> None:
    """``memoryd --data-dir A serve --data-dir B`` opens B; ``serve`` alone opens A (or env's)."""
    from memoryd.cli.app import CLIState

    chosen, other = tmp_path / "chosen", tmp_path / "global"
    assert CLIState().settings().data_dir == data_dir  # MEMORYD_DATA_DIR
    assert CLIState(data_dir=other).settings().data_dir == other
    mine = CLIState(data_dir=other).settings(chosen, host=None, port=7999)
    assert (mine.data_dir, mine.host, mine.port) == (chosen, "127.0.0.1", 7999)
    kept = CLIState(data_dir=other).settings(None, auto_start=False, fallback_local=None)
    assert (kept.data_dir, kept.auto_start, kept.fallback_local) == (other, False, True)

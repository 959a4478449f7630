"""S12 code surface: no dynamic code execution, unsafe deserialisation or shell in src/memoryd.

The source is parsed (``ast``), so a name in a comment or a method that happens
to be called ``eval`` (``torch.nn.Module.eval()``) is not a finding, and a
call spelled across lines is. ``make security`` runs bandit and pip-audit
besides (RELIABILITY.md S12).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "memoryd"
#: Built-ins that run code given as data.
_CODE_BUILTINS = {"eval", "exec", "compile", "__import__"}
#: Modules that deserialise code or arbitrary objects.
_UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "marshal", "shelve", "jsonpickle"}
_SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader"}
_SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput")}


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _dotted(node: ast.expr) -> tuple[str, ...]:
    """``a.b.c`` → ``("a", "b", "c")``; ``()`` for anything else."""
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return (*base, node.attr) if base else ()
    return ()


def _yaml_load_is_unsafe(call: ast.Call, name: tuple[str, ...]) -> bool:
    if name[-2:] in (("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "unsafe_load_all")):
        return True
    if name[-2:] not in (("yaml", "load"), ("yaml", "load_all")):
        return False
    loader = next((kw.value for kw in call.keywords if kw.arg == "Loader"), None)
    if loader is None and len(call.args) > 1:
        loader = call.args[1]
    return loader is None or (_dotted(loader)[-1:] or ("",))[0] not in _SAFE_YAML_LOADERS


def findings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, what)`` for every unsafe construct in a parsed module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _UNSAFE_MODULES:
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in _UNSAFE_MODULES:
                yield node.lineno, f"from {node.module} import ..."
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if isinstance(node.func, ast.Name) and node.func.id in _CODE_BUILTINS:
                yield node.lineno, f"{node.func.id}()"
            if _yaml_load_is_unsafe(node, name):
                yield node.lineno, f"{'.'.join(name)}() without SafeLoader"
            if name[-2:] in _SHELL_CALLS:
                yield node.lineno, f"{'.'.join(name)}()"
            for keyword in node.keywords:
                if keyword.arg == "shell" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    yield node.lineno, "shell=True"


def test_the_source_tree_is_scanned() -> None:
    files = _sources()
    assert len(files) > 50 and SRC / "server" / "security.py" in files


@pytest.mark.parametrize(
    "code",
    [
        "eval('1')",
        "exec(text)",
        "import pickle",
        "from pickle import loads",
        "import yaml\nyaml.load(text)",
        "yaml.load(text, Loader=yaml.Loader)",
        "yaml.unsafe_load(text)",
        "subprocess.run(cmd, shell=True)",
        "subprocess.run(cmd, shell=flag)",
        "os.system('ls')",
    ],
)
def test_the_scan_finds_each_construct(code: str) -> None:
    assert list(findings(ast.parse(code)))


@pytest.mark.parametrize(
    "code",
    [
        "model.eval()",
        "conn.execute('SELECT 1')",
        "yaml.safe_load(text)",
        "yaml.load(text, Loader=yaml.SafeLoader)",
        "subprocess.run(['ls'], shell=False)",
        "# eval(x) pickle shell=True",
    ],
)
def test_the_scan_leaves_safe_code_alone(code: str) -> None:
    assert not list(findings(ast.parse(code)))


def test_no_eval_exec_pickle_unsafe_yaml_or_shell_in_src() -> None:
    found = [
        f"{path.relative_to(SRC.parent)}:{line}: {what}"
        for path in _sources()
        for line, what in findings(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    ]
    assert not found, "\n".join(found)

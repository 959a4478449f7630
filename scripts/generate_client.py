"""Write ``src/memoryd/client/operations.py``: the Python ``Client``, generated from the registry.

Each operation the client serves (:data:`memoryd.operations.OPERATIONS`) becomes
a method with ``Memory``'s own signature and the first line of its docstring, whose
body hands its arguments (``locals()``) to ``ClientBase._call`` (as qdrant-client
generates its async client from the sync one). The output is checked in, so
``mypy --strict`` and editors see real signatures; ``tests/test_generated_client.py``
fails when it differs from what this script writes.

Usage::

    python scripts/generate_client.py [--check]

``--check`` writes nothing and exits 1 when the checked-in file is stale.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from memoryd import Memory
from memoryd.inputs import MISSING
from memoryd.operations import OPERATIONS, Face

TARGET = Path(__file__).resolve().parent.parent / "src" / "memoryd" / "client" / "operations.py"
RUFF = Path(sys.executable).with_name("ruff")
#: Where the type aliases of Memory's signatures (``Kind``, ``Outcome``) are defined;
#: the client imports them from there, never from the engine's modules.
MODEL_MODULES = ("memoryd.types", "memoryd.learning.models", "memoryd.reports", "memoryd.inputs")

HEADER = '''"""The operations of :class:`memoryd.Client`: generated, do not edit.

Written by ``scripts/generate_client.py`` from the operation registry
(:mod:`memoryd.operations`) and ``Memory``'s signatures and docstrings; each
method hands its arguments (``locals()``) to ``ClientBase._call``, which builds the request
(:mod:`memoryd.client.requests`) and routes it. Regenerate with
``python scripts/generate_client.py``; ``tests/test_generated_client.py`` fails
when this file is stale.
"""
'''


CLASS_DOC = """The methods of :class:`memoryd.Memory` over a running daemon's REST API.

    Arguments, errors, routing and lifecycle are :class:`~memoryd.client.base.ClientBase`'s;
    each method's full documentation is its ``Memory`` namesake's.
    """


def _names(annotation: str) -> set[str]:
    """The top-level names an annotation or default expression uses."""
    tree = ast.parse(annotation, mode="eval")
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names.add(node.value.id)
    return names


def _import_of(name: str, home: dict[str, Any]) -> str | None:
    """The import line that brings ``name`` (as the method's module sees it)."""
    value = home[name] if name in home else getattr(__builtins__, name, None)
    if inspect.ismodule(value):
        return f"import {value.__name__}"
    if name in dir(__builtins__) or value is None:
        return None
    module = getattr(value, "__module__", None)
    if module and getattr(sys.modules.get(module), name, None) is value:
        return f"from {module} import {name}"
    for candidate in MODEL_MODULES:  # a type alias: import it from where it is defined
        if getattr(importlib.import_module(candidate), name, None) is value:
            return f"from {candidate} import {name}"
    raise LookupError(f"{name}: not found in {MODEL_MODULES}; add its module there")


#: ``list[`` not preceded by a name character or dot: the builtin, which the
#: ``list`` method shadows inside the class body.
_BARE_LIST = re.compile(r"(?<![\w.])list\[")


def _typed(annotation: Any) -> str:
    """An annotation's text with the builtin ``list`` spelled ``builtins.list``."""
    return _BARE_LIST.sub("builtins.list[", str(annotation))


def _default(value: Any) -> str:
    return "MISSING" if value is MISSING else repr(value)


def _method(name: str, imports: set[str]) -> str:
    function = getattr(Memory, name)
    home = inspect.unwrap(function).__globals__
    signature = inspect.signature(function)
    params, spread, star = ["self"], "", False
    for param in list(signature.parameters.values())[1:]:
        text = param.name
        if param.annotation is not inspect.Parameter.empty:
            text += f": {_typed(param.annotation)}"
            for used in _names(str(param.annotation)):
                imports.add(_import_of(used, home) or "")
        if param.default is not inspect.Parameter.empty:
            text += f" = {_default(param.default)}"
            if param.default is MISSING:
                imports.add("from memoryd.inputs import MISSING")
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            params.append(f"**{text}")
            spread = f', "{param.name}"'
            continue
        if param.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            params.append("*")
            star = True
        params.append(text)
    returns = _typed(signature.return_annotation)
    for used in _names(returns):
        imports.add(_import_of(used, home) or "")
    docstring = inspect.getdoc(function)
    if not docstring:
        raise LookupError(f"Memory.{name} has no docstring to take the summary from")
    summary = docstring.partition("\n")[0]
    doc = summary if len(summary) <= 86 else textwrap.fill(summary, 86, subsequent_indent=" " * 8)
    if "\n" in doc:
        doc += "\n        "
    body = f'self._call("{name}", locals(){spread})'
    line = body if returns == "None" else f"return {body}"
    return (
        f'    def {name}({", ".join(params)}) -> {returns}:\n        """{doc}"""\n        {line}\n'
    )


def source() -> str:
    """The generated module's text, formatted by ruff."""
    imports: set[str] = {"from memoryd.client.base import ClientBase", "import builtins"}
    methods = [_method(op.name, imports) for op in OPERATIONS if op.serves(Face.CLIENT)]
    text = (
        HEADER
        + "\nfrom __future__ import annotations\n\n"
        + "\n".join(sorted(line for line in imports if line))
        + '\n\n__all__ = ["Client"]\n\n\n'
        + f'class Client(ClientBase):\n    """{CLASS_DOC}"""\n\n'
        + "\n".join(methods)
    )
    fix = [str(RUFF), "check", "--fix-only", "--quiet", "--stdin-filename", str(TARGET), "-"]
    fixed = subprocess.run(fix, input=text, capture_output=True, text=True, check=True).stdout
    fmt = [str(RUFF), "format", "--quiet", "--stdin-filename", str(TARGET), "-"]
    return subprocess.run(fmt, input=fixed, capture_output=True, text=True, check=True).stdout


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the generated client; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = source()
    if args.check:
        if not TARGET.is_file() or TARGET.read_text("utf-8") != text:
            print(f"{TARGET} is out of date: run python scripts/generate_client.py")
            return 1
        return 0
    TARGET.write_text(text, "utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

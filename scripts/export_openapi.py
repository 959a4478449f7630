"""Write the daemon's OpenAPI document to a file (default: the TypeScript client's copy).

The TypeScript client (``clients/typescript``) is typed from this document
(``npm run generate`` turns it into ``src/schema.ts``). The document is built
from the FastAPI app with default settings, so it does not depend on the
machine; ``tests/clients/test_typescript_client.py`` fails when the checked-in
copy differs from what the code produces.

Usage::

    python scripts/export_openapi.py [--check] [PATH]

``--check`` writes nothing and exits 1 when ``PATH`` differs from the document.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from memoryd.config import Settings
from memoryd.server.app import create_app

DEFAULT_TARGET = Path(__file__).resolve().parent.parent / "clients" / "typescript" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The daemon's OpenAPI document, built with default settings (no store is opened)."""
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir)))
        document: dict[str, Any] = app.openapi()
    return document


def render(document: dict[str, Any]) -> str:
    """The document as stable JSON text: keys sorted, two-space indent, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the document; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_TARGET)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = render(openapi_document())
    if args.check:
        current = args.path.read_text("utf-8") if args.path.is_file() else ""
        if current != text:
            print(f"{args.path} is out of date: run python scripts/export_openapi.py")
            return 1
        return 0
    args.path.write_text(text, "utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

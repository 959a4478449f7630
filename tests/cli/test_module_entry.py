"""``python -m memoryd`` runs the same command line as the ``memoryd`` entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _help(*argv: str) -> str:
    done = subprocess.run(
        [*argv, "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_python_dash_m_serves_the_same_cli_as_the_entry_point() -> None:
    entry_point = Path(sys.executable).with_name("memoryd")
    assert entry_point.exists(), "the memoryd console script is installed beside python"
    by_module = _help(sys.executable, "-m", "memoryd")
    by_script = _help(str(entry_point))
    assert "local-first memory for AI agents" in by_module
    assert by_module.replace("python -m memoryd", "memoryd") == by_script.replace(
        str(entry_point), "memoryd"
    )

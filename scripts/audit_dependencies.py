"""Audit the installed dependencies for known vulnerabilities (RELIABILITY.md S12).

Runs ``pip-audit -f json`` and prints how many packages were actually audited,
how many could not be (pip-audit's vulnerability service unreachable, or a
package unknown to it) and every known vulnerability. Exits 1 on any
vulnerability; with ``--strict``, also when a package could not be audited.

pip-audit asks PyPI's JSON API (or OSV); where neither answers, every package
is "could not be audited" and this says so on one line instead of passing
silently.

Usage::

    .venv/bin/python scripts/audit_dependencies.py [--strict]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="fail on unaudited packages too")
    args = parser.parse_args()
    pip_audit = Path(sys.executable).with_name("pip-audit")
    run = subprocess.run(
        [str(pip_audit), "--progress-spinner", "off", "--skip-editable", "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit failed (exit {run.returncode}): {run.stderr.strip()}", file=sys.stderr)
        return 1
    deps = report["dependencies"]
    skipped = [d for d in deps if "skip_reason" in d]
    vulnerable = [d for d in deps if d.get("vulns")]
    audited = len(deps) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    print(
        f"pip-audit: {audited} of {len(deps)} packages audited, {len(vulnerable)} vulnerable"
        + (
            f"; {len(skipped)} could not be audited ({skipped[0]['skip_reason']})"
            if skipped
            else ""
        )
    )
    if vulnerable or (args.strict and skipped):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

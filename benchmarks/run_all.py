"""Run every memoryd benchmark in sequence; write ``benchmarks/results/latest.json``.

Each benchmark runs in its own process (``--json`` to a temp file), one after
the other so they never compete for the CPU; their reports stream to stdout
as they finish. ``latest.json`` holds the machine description and every
benchmark's JSON (or its error); ``latest.md`` the printed reports. A final
table lists every target with its verdict. The exit status is non-zero only
if a benchmark crashed (a missed target is a result, not an error).

The first full run builds and caches the data sets and stores (embedding
100,000 texts with the real model takes a while; see ``_common.py``).

Usage::

    make bench                                          # full sizes
    .venv/bin/python benchmarks/run_all.py --quick      # small sizes, a few minutes
    .venv/bin/python benchmarks/run_all.py --only search_latency,startup
    .venv/bin/python benchmarks/run_all.py --with-vector-index   # + vector_index.py --quick
    # (with --quick: vector_index.py --quick --sizes 10000)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("search_latency", "write_latency", "import_throughput", "startup", "learning")


def run(name: str, extra: list[str], tmp: Path) -> tuple[dict[str, object], str]:
    out = tmp / f"{name}.json"
    cmd = [sys.executable, str(HERE / f"{name}.py"), *extra, "--json", str(out)]
    print(f"\n<!-- {' '.join(cmd)} -->", flush=True)
    started = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    code = proc.wait()
    took = time.time() - started
    if code != 0 or not out.exists():
        return {"error": f"exit status {code}", "seconds": took}, "".join(lines)
    return {**json.loads(out.read_text()), "seconds": took}, "".join(lines)


def targets(name: str, result: dict[str, object]) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in result.get("rows", []) or []:  # type: ignore[union-attr]
        if row.get("target", "—") != "—":
            what = " ".join(
                str(row[k]) for k in ("size", "path", "mode", "op", "items") if k in row
            )
            rows.append([name, what or str(row.get("mode", "")), str(row["target"])])
    summary = result.get("summary")
    if isinstance(summary, dict) and summary.get("target", "—") != "—":
        rows.append([name, "daemon ready median", str(summary["target"])])
    if "error" in result:
        rows.append([name, "(benchmark)", f"ERROR {result['error']}"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    ap.add_argument("--with-vector-index", action="store_true", help="also vector_index.py --quick")
    ap.add_argument("--tmp-dir", default=None, help="parent of temp stores (passed on)")
    ap.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        ap.error(f"unknown benchmarks: {sorted(unknown)}")
    extra = (["--quick"] if args.quick else []) + (
        ["--tmp-dir", args.tmp_dir] if args.tmp_dir else []
    )
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    payload: dict[str, object] = {"started": started, "quick": args.quick}
    payload["machine"] = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    results: dict[str, object] = {}
    reports: list[str] = []
    with tempfile.TemporaryDirectory(prefix="memoryd-bench-results-") as tmp:
        for name in names:
            results[name], text = run(name, extra, Path(tmp))
            reports.append(text)
        if args.with_vector_index:
            vi_args = ["--quick"] + (["--sizes", "10000"] if args.quick else [])
            results["vector_index"], text = run("vector_index", vi_args, Path(tmp))
            reports.append(text)
    payload["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    payload["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    payload["benchmarks"] = results
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    out.with_suffix(".md").write_text("\n".join(reports))
    rows = [r for name, res in results.items() for r in targets(name, res)]  # type: ignore[arg-type]
    print("\n## targets\n")
    print(c.md_table(["benchmark", "what", "verdict"], rows))
    print(f"\nwrote {out} and {out.with_suffix('.md')}")
    if any("error" in res for res in results.values()):  # type: ignore[operator]
        sys.exit(1)


if __name__ == "__main__":
    main()

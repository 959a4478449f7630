"""Self-learning layer: durable step logging, completion, extraction throughput, retrieve_context.

Method
------
One ``Memory`` (settings defaults, ``sqlite_synchronous=FULL`` stated
explicitly, no background threads so extraction is measured on its own) on a
temp store on disk (``--tmp-dir``; the file system type is printed). The
real all-MiniLM-L6-v2 ONNX model embeds every task description.

1. ``--episodes`` synthetic episodes over 5 domains (distinct task texts,
   3–7 steps, ~15 % failed steps, ~15 % failed outcomes) go through the
   public API: ``start_episode`` → steps → ``complete_episode``. For the
   first ``--sampled`` episodes every step is a separate ``log_step`` call
   (one committed transaction each) and timed; the rest use ``log_steps``
   (one transaction per episode). Every ``complete_episode`` is timed
   (domain medians, reward, reflection, one transaction with the queue row).
2. ``extract_patterns()`` drains the whole durable queue; throughput is
   episodes per second including embedding of new pattern descriptions and
   the DBSCAN merge pass.
3. ``retrieve_context`` with ``--queries`` new task texts (never stored),
   with a domain; the query embedding is part of the call. The model's share
   is timed separately on similar texts (``embed only``), and each query is
   repeated once with its embedding in the query cache (ranking and reads
   alone, less sensitive to CPU contention with the model).

Usage::

    .venv/bin/python benchmarks/learning.py                 # 10,000 episodes
    .venv/bin/python benchmarks/learning.py --quick         # 1,000 episodes
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

import _common as c

TARGET_RETRIEVE_P50_MS = 20.0

DOMAINS: dict[str, dict[str, Any]] = {
    "web": {
        "task_type": "debugging",
        "stack": ("python", "django"),
        "verbs": ("Fix", "Debug", "Repair", "Investigate"),
        "objects": ("login redirect", "checkout view", "profile page", "search API", "cart total"),
        "tools": ("read_file", "run_tests", "edit_file", "run_tests", "git_commit"),
    },
    "data": {
        "task_type": "analysis",
        "stack": ("python", "pandas"),
        "verbs": ("Analyse", "Summarise", "Clean", "Aggregate"),
        "objects": ("sales by region", "churn cohorts", "survey answers", "sensor readings"),
        "tools": ("load_csv", "inspect_schema", "clean_data", "aggregate", "plot"),
    },
    "infra": {
        "task_type": "code_generation",
        "stack": ("hcl", "terraform"),
        "verbs": ("Provision", "Create", "Configure", "Add"),
        "objects": ("an S3 bucket", "a VPC", "an IAM role", "a Postgres instance", "a queue"),
        "tools": ("write_config", "terraform_plan", "validate_plan", "terraform_apply"),
    },
    "mobile": {
        "task_type": "testing",
        "stack": ("kotlin", "android"),
        "verbs": ("Test", "Write tests for", "Cover", "Check"),
        "objects": ("the onboarding flow", "push notifications", "offline sync", "dark mode"),
        "tools": ("read_file", "write_test", "run_emulator", "run_tests"),
    },
    "docs": {
        "task_type": "documentation",
        "stack": ("markdown", "mkdocs"),
        "verbs": ("Document", "Explain", "Write a guide for", "Update the docs of"),
        "objects": ("the REST API", "the CLI", "configuration", "the deployment"),
        "tools": ("read_code", "draft_text", "build_docs", "check_links"),
    },
}


def episode_specs(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` distinct synthetic episodes (task text, domain, steps, outcome)."""
    rng = random.Random(seed)
    names = list(DOMAINS)
    out = []
    for i in range(n):
        name = names[i % len(names)]
        d = DOMAINS[name]
        task = f"{rng.choice(d['verbs'])} {rng.choice(d['objects'])} (ticket {10_000 + i})"
        tools = list(d["tools"][: rng.randint(3, len(d["tools"]))])
        steps = []
        for tool in tools:
            failed = rng.random() < 0.15
            result = (
                {"status": "error", "message": f"RuntimeError: {tool} failed"}
                if failed
                else {"status": "success", "output": "ok"}
            )
            steps.append(
                {
                    "tool": tool,
                    "action": f"check whether {tool} works" if tool.startswith("valid") else tool,
                    "result": result,
                    "latency_ms": rng.uniform(20, 900),
                    "tokens": rng.randint(50, 800),
                }
            )
            if failed:
                steps.append(
                    {"tool": tool, "action": f"retry {tool}", "result": {"status": "success"}}
                )
        outcome = (
            {"type": "failure", "reason": "tests still red"}
            if rng.random() < 0.15
            else {"type": "success", "verdict": "done"}
        )
        context = {"language": d["stack"][0], "framework": d["stack"][1]}
        out.append(
            {
                "start": {
                    "task_description": task,
                    "domain": name,
                    "task_type": d["task_type"],
                    "context": context,
                },
                "steps": steps,
                "outcome": outcome,
            }
        )
    return out


def seed(memory: Any, specs: list[dict[str, Any]], sampled: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"log_step": [], "complete": [], "start": []}
    t_all = time.perf_counter()
    for i, spec in enumerate(specs):
        t0 = time.perf_counter()
        ep = memory.start_episode(spec["start"])
        times["start"].append(time.perf_counter() - t0)
        if i < sampled:
            for step in spec["steps"]:
                t0 = time.perf_counter()
                memory.log_step(ep.id, step)
                times["log_step"].append(time.perf_counter() - t0)
        else:
            memory.log_steps(ep.id, spec["steps"])
        t0 = time.perf_counter()
        done = memory.complete_episode(ep.id, spec["outcome"])
        times["complete"].append(time.perf_counter() - t0)
        assert done.extraction.queued
        if (i + 1) % 1000 == 0:
            rate = (i + 1) / (time.perf_counter() - t_all)
            print(f"  seeded {i + 1:,} episodes ({rate:,.0f}/s)", flush=True)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=10_000, help="episodes stored")
    ap.add_argument("--sampled", type=int, default=300, help="episodes logged step by step")
    ap.add_argument("--queries", type=int, default=300, help="retrieve_context calls")
    ap.add_argument("--quick", action="store_true", help="1,000 episodes, 100 queries")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp store (on a real disk)")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    args = ap.parse_args()
    if args.quick:
        args.episodes, args.queries, args.sampled = 1000, 100, 100
    from memoryd import Memory

    specs = episode_specs(args.episodes, c.SEED)
    queries = [
        (s["start"]["task_description"].replace("ticket", "issue"), s["start"]["domain"])
        for s in episode_specs(args.queries, c.SEED + 1)
    ]
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    with (
        c.bench_tmp(args.tmp_dir) as tmp,
        Memory(
            c.bench_settings(Path(tmp) / "data", sqlite_synchronous="FULL"), background=False
        ) as memory,
    ):
        memory.embedder.warmup()
        t0 = time.perf_counter()
        times = seed(memory, specs, args.sampled)
        seed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = memory.extract_patterns()
        extract_s = time.perf_counter() - t0
        assert report.episodes == args.episodes and report.queue_remaining == 0
        patterns = len(memory.list_patterns(limit=1000))
        for text, domain in queries[:10]:  # warm-up: index matrix load, caches
            memory.retrieve_context(text + " (warm-up)", domain=domain)
        retrieve, embed, ranking = [], [], []
        for text, domain in queries:
            t0 = time.perf_counter()
            memory.embedder.embed([text + " [embed]"])
            embed.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = memory.retrieve_context(text, domain=domain, limit=5)
            retrieve.append(time.perf_counter() - t0)
            assert result.episodes and result.episodes[0].episode.domain == domain
            t0 = time.perf_counter()  # same text again: query embedding from the query cache
            memory.retrieve_context(text, domain=domain, limit=5)
            ranking.append(time.perf_counter() - t0)
    rows = [
        {"op": "start_episode (embed + commit)", **c.summarize(times["start"])},
        {"op": "log_step (durable, one commit)", **c.summarize(times["log_step"])},
        {"op": "complete_episode (reward + reflection + commit)", **c.summarize(times["complete"])},
        {"op": "retrieve_context (incl. query embedding)", **c.summarize(retrieve)},
        {"op": "retrieve_context, query embedding cached", **c.summarize(ranking)},
        {"op": "embed only (same kind of text)", **c.summarize(embed)},
    ]
    for row in rows:
        row["target"] = "—"
        if row["op"] == "retrieve_context (incl. query embedding)":
            row["target"] = "p50 " + c.verdict(row["p50_ms"], TARGET_RETRIEVE_P50_MS)
    table = c.md_table(
        ["operation", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms", "target"],
        [
            [r["op"], r["n"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["mean_ms"], r["target"]]
            for r in rows
        ],
    )
    throughput = c.md_table(
        ["phase", "episodes", "seconds", "episodes/s", "patterns after merge"],
        [
            [
                "seeding (start + steps + complete)",
                args.episodes,
                seed_s,
                args.episodes / seed_s,
                "",
            ],
            [
                "extract_patterns (queue drain)",
                report.episodes,
                extract_s,
                report.episodes / extract_s,
                patterns,
            ],
        ],
    )
    method = (
        f"{args.episodes:,} synthetic episodes over 5 domains through the public API "
        f"(synchronous=FULL, real embedding model); log_step timed on the first {args.sampled} "
        f"episodes (one commit per step); extraction = one extract_patterns() drain of the "
        f"durable queue; retrieve_context = {args.queries} new task texts with a domain, "
        "query embedding included. See the module docstring."
    )
    data = {"params": {k: v for k, v in vars(args).items() if k != "json"}, "rows": rows}
    data["extraction"] = {"episodes": report.episodes, "seconds": extract_s, "patterns": patterns}
    c.report("self-learning", method, machine, [table, throughput], data, args.json)


if __name__ == "__main__":
    main()

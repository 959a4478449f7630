"""A realistic, seeded workload: 54 episodes across three domains, with failures and recoveries.

Each domain has a *good recipe* (mostly succeeds; includes a check step, so
it yields a decision point), an *error recovery* (a failing tool fixed by
another tool, then retried) and a *bad recipe* (mostly fails).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

__all__ = ["DOMAINS", "Domain", "run_scenario", "scenario_episodes"]


@dataclass(frozen=True)
class Domain:
    name: str
    task_type: str
    language: str
    framework: str
    tasks: tuple[str, ...]
    good: tuple[tuple[str, str], ...]
    error: tuple[str, str, str]
    fix: tuple[str, str]
    bad: tuple[tuple[str, str], ...]


DOMAINS = (
    Domain(
        name="web",
        task_type="debugging",
        language="python",
        framework="django",
        tasks=(
            "Fix the login redirect bug in the Django web app",
            "Debug the failing checkout view test",
            "Fix the 500 error on the user profile page",
            "Repair the broken password reset form",
        ),
        good=(
            ("read_file", "read the failing view"),
            ("run_tests", "check whether the failing test reproduces locally"),
            ("edit_file", "fix the view logic"),
            ("run_tests", "run the view tests"),
        ),
        error=("run_tests", "ImportError: cannot import name 'reverse'", "run the view tests"),
        fix=("edit_file", "fix the import in urls.py"),
        bad=(("edit_file", "rewrite the whole view"), ("deploy", "deploy to staging")),
    ),
    Domain(
        name="data",
        task_type="analysis",
        language="python",
        framework="pandas",
        tasks=(
            "Analyse monthly sales by region from the CSV export",
            "Compute churn rate per customer cohort",
            "Summarise the survey responses by age group",
            "Find outliers in the sensor readings dataset",
        ),
        good=(
            ("load_csv", "load the dataset"),
            ("inspect_schema", "inspect whether the columns have missing values"),
            ("clean_data", "drop and impute missing values"),
            ("plot", "plot the aggregated result"),
        ),
        error=("load_csv", "UnicodeDecodeError: invalid start byte", "load the dataset"),
        fix=("detect_encoding", "detect the file encoding"),
        bad=(("plot", "plot the raw data"), ("export_report", "export the report")),
    ),
    Domain(
        name="infra",
        task_type="code_generation",
        language="hcl",
        framework="terraform",
        tasks=(
            "Provision an S3 bucket with versioning using Terraform",
            "Add a VPC with two private subnets",
            "Create an IAM role for the deploy pipeline",
            "Set up a managed Postgres instance",
        ),
        good=(
            ("write_config", "write the terraform module"),
            ("terraform_plan", "run terraform plan"),
            ("validate_plan", "verify the plan only adds the expected resources"),
            ("terraform_apply", "apply the plan"),
        ),
        error=("terraform_apply", "TimeoutError: provider did not answer", "apply the plan"),
        fix=("refresh_credentials", "refresh the provider credentials"),
        bad=(("terraform_apply", "apply without a plan"), ("manual_fix", "fix drift by hand")),
    ),
)


def _step(tool: str, action: str, ok: bool = True, message: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"status": "success" if ok else "error"}
    if ok:
        result["output"] = "ok"
    else:
        result["message"] = message
    return {"tool": tool, "action": action, "result": result, "latency_ms": 120.0, "tokens": 200}


def scenario_episodes(seed: int = 7) -> list[dict[str, Any]]:
    """54 episode specs: ``{"start": {...}, "steps": [...], "outcome": {...}}``."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for d in DOMAINS:
        plan = ["good"] * 8 + ["recover"] * 3 + ["good_fail"] + ["bad"] * 4 + ["bad_ok", "partial"]
        for i, kind in enumerate(plan):
            steps = [_step(t, a) for t, a in d.good]
            outcome: dict[str, Any] = {"type": "success", "verdict": "done and verified"}
            if kind == "recover":
                failing = _step(d.error[0], d.error[2], ok=False, message=d.error[1])
                steps = [*steps[:-1], failing, _step(*d.fix), steps[-1]]
            elif kind == "good_fail":
                outcome = {"type": "failure", "reason": "requirements changed midway"}
            elif kind in ("bad", "bad_ok"):
                steps = [_step(t, a) for t, a in d.bad]
                steps[-1]["result"] = {"status": "error", "message": "RuntimeError: it broke"}
                if kind == "bad_ok":
                    steps[-1] = _step(*d.bad[-1])
                else:
                    outcome = {"type": "failure", "reason": "the change broke production"}
            elif kind == "partial":
                outcome = {"type": "partial", "completed": ["main fix"], "failed": ["docs"]}
            out.append(
                {
                    "start": {
                        "task_description": d.tasks[i % len(d.tasks)] + f" (ticket {100 + i})",
                        "domain": d.name,
                        "task_type": d.task_type,
                        "context": {
                            "language": d.language,
                            "framework": d.framework,
                            "complexity": rng.choice(["simple", "moderate", "complex"]),
                        },
                        "tags": [d.name, kind],
                    },
                    "steps": steps,
                    "outcome": outcome,
                }
            )
    rng.shuffle(out)
    return out


def run_scenario(backend: Any, namespace: str = "default", seed: int = 7) -> list[str]:
    """Start, log and complete every scenario episode; returns their ids in order."""
    ids: list[str] = []
    for spec in scenario_episodes(seed):
        episode = backend.start_episode(spec["start"], namespace=namespace)
        backend.log_steps(episode.id, spec["steps"], namespace=namespace)
        backend.complete_episode(episode.id, spec["outcome"], namespace=namespace)
        ids.append(str(episode.id))
    return ids

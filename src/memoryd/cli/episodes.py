"""``memoryd episode ...``: create, list, view, log-step, complete, delete, checkpoint, resume.

Each command parses its options, calls the backend (``Memory`` in-process or
``Client`` over HTTP, both with the same methods) and renders the result.
In-process, a completed episode's pattern extraction is queued durably and
runs in the daemon's worker or on ``memoryd pattern extract``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from memoryd.bounds import MAX_PAGE_LIMIT
from memoryd.cli.app import command_group, id_argument, run
from memoryd.cli.memories import Meta, parse_meta
from memoryd.cli.options import NAMESPACE, deleted, option, plain_command
from memoryd.cli.render import rows_table
from memoryd.client import Client
from memoryd.errors import ValidationError
from memoryd.learning.models import (
    Complexity,
    Episode,
    EpisodeInput,
    EpisodePage,
    PartialOutcome,
    StepInput,
    StepResult,
    StepStatus,
    SuccessOutcome,
    TaskContext,
    TaskType,
)
from memoryd.operations.learning_bodies import CheckpointBody, CompleteBody, ResumeBody

__all__ = ["episode_app"]

episode_app = command_group(
    "episode", "Task episodes: start one, log its steps, complete it (reward, reflection)."
)

EpisodeId = Annotated[str, id_argument("episode")]
#: The arguments that name one episode.
_EPISODE = {"episode_id": EpisodeId, "namespace": NAMESPACE}


def _episodes_table(page: EpisodePage) -> Table:
    columns = ("id", "domain", "task_type", "status", "outcome", "reward", "steps", "task")
    return rows_table(columns, (_episode_row(ep) for ep in page.items))


def _episode_row(ep: Episode) -> tuple[str, ...]:
    return (
        str(ep.id),
        ep.domain,
        ep.task_type,
        ep.status,
        ep.outcome.type if ep.outcome else "",
        f"{ep.reward.total:.3f}" if ep.reward else "",
        str(ep.step_count),
        ep.task_description[:60],
    )


@episode_app.command("create")
def create(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="The task description.")],
    namespace: str = NAMESPACE,
    domain: str = option(EpisodeInput, "domain", "--domain", "-d", help="Domain, e.g. web."),
    task_type: TaskType = option(EpisodeInput, "task_type", "--task-type", help="Kind of task."),
    language: str | None = option(TaskContext, "language", "--language", help="Language."),
    framework: str | None = option(TaskContext, "framework", "--framework", help="Framework."),
    complexity: Complexity = option(
        TaskContext, "complexity", "--complexity", help="How hard the task is."
    ),
    tag: list[str] | None = option(EpisodeInput, "tags", "--tag", "-t", help="Tag (repeat)."),
    meta: Meta = None,
    agent: str | None = option(EpisodeInput, "agent_id", "--agent", help="Agent id."),
) -> None:
    """Start an episode and print it (use its id with log-step and complete)."""
    context = {"language": language, "framework": framework, "complexity": complexity}
    metadata = parse_meta(meta or [])
    run(
        ctx,
        lambda engine: engine.start_episode(
            task,
            namespace=namespace,
            domain=domain,
            task_type=task_type,
            context=context,
            tags=tag or [],
            metadata=metadata,
            agent_id=agent,
        ),
    )


plain_command(
    "episode list",
    "List episodes, newest first, one page at a time.",
    table=_episodes_table,
    namespace=NAMESPACE,
    domain=option(Client.list_episodes, "domain", "--domain", "-d", help="Only this domain."),
    task_type=option(
        Episode, "task_type", "--task-type", help="Only this task type.", default=None
    ),
    status=option(Episode, "status", "--status", help="Only this status.", default=None),
    outcome=option(CompleteBody, "outcome", "--outcome", help="Only this outcome.", default=None),
    limit=option(
        Client.list_episodes, "limit", "--limit", "-l", help=f"Page size (1..{MAX_PAGE_LIMIT})."
    ),
    cursor=option(
        Client.list_episodes, "cursor", "--cursor", help="next_cursor of the previous page."
    ),
)
plain_command(
    "episode view",
    "Print one episode: steps, outcome, reward components, reflection.",
    **_EPISODE,
    include_steps=option(
        Client.get_episode, "include_steps", "--steps/--no-steps", help="Include the steps."
    ),
)


@episode_app.command("log-step")
def log_step(
    ctx: typer.Context,
    episode_id: EpisodeId,
    tool: str = option(StepInput, "tool", "--tool", help="Tool called."),
    action: str = option(StepInput, "action", "--action", help="What the step did."),
    namespace: str = NAMESPACE,
    status: StepStatus = option(
        StepResult, "status", "--status", help="Result status.", default="success"
    ),
    output: str | None = option(StepResult, "output", "--output", help="Result output."),
    message: str | None = option(StepResult, "message", "--message", help="Error message."),
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Parameter key=value (repeat).")
    ] = None,
    latency_ms: float = option(StepInput, "latency_ms", "--latency-ms", help="Latency in ms."),
    tokens: int = option(StepInput, "tokens", "--tokens", help="Tokens used."),
) -> None:
    """Append one step to a running episode (committed before the command returns)."""
    result = {"status": status, "output": output, "message": message}
    parameters = parse_meta(param or [])
    run(
        ctx,
        lambda engine: engine.log_step(
            episode_id,
            tool=tool,
            action=action,
            result=result,
            parameters=parameters,
            latency_ms=latency_ms,
            tokens=tokens,
            namespace=namespace,
        ),
    )


def _outcome(
    kind: str,
    verdict: str | None,
    reason: str | None,
    artifacts: list[str],
    completed: list[str],
    failed: list[str],
) -> dict[str, Any]:
    kinds = {
        "success": {"verdict": verdict or "done", "artifacts": artifacts},
        "partial": {"verdict": verdict or "", "completed": completed, "failed": failed},
    }
    if kind not in kinds and not reason:
        raise ValidationError(f"--reason is required for outcome {kind}")
    return {"type": kind, **kinds.get(kind, {"reason": reason})}


@episode_app.command("complete")
def complete(
    ctx: typer.Context,
    episode_id: EpisodeId,
    outcome: str = option(CompleteBody, "outcome", "--outcome", "-o", help="How it ended."),
    namespace: str = NAMESPACE,
    verdict: Annotated[str | None, typer.Option("--verdict", help="Success verdict.")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why it failed or was abstained.")
    ] = None,
    artifact: list[str] | None = option(
        SuccessOutcome, "artifacts", "--artifact", help="Produced artifact (repeat)."
    ),
    done: list[str] | None = option(
        PartialOutcome, "completed", "--completed", help="Completed sub-goal (repeat)."
    ),
    failed: list[str] | None = option(
        PartialOutcome, "failed", "--failed", help="Failed sub-goal (repeat)."
    ),
    applied: list[str] | None = option(
        CompleteBody, "applied_patterns", "--applied-pattern", help="Applied pattern id (repeat)."
    ),
) -> None:
    """Complete an episode: prints the reward, reflection and extraction status."""
    result = _outcome(outcome, verdict, reason, artifact or [], done or [], failed or [])
    run(
        ctx,
        lambda engine: engine.complete_episode(
            episode_id, result, applied_patterns=applied or [], namespace=namespace
        ),
    )


plain_command(
    "episode delete",
    "Delete an episode, its steps and its evidence in patterns.",
    shown=deleted("episode_id"),
    **_EPISODE,
)
plain_command(
    "episode checkpoint",
    "Checkpoint a running episode and print its hand-off pack.",
    **_EPISODE,
    note=option(CheckpointBody, "note", "--note", help="Message for the next agent."),
    agent_id=option(CheckpointBody, "agent_id", "--agent", help="Agent id."),
)
plain_command(
    "episode resume",
    "Print the hand-off pack to continue a running episode.",
    **_EPISODE,
    agent_id=option(ResumeBody, "agent_id", "--agent", help="Agent taking over."),
)

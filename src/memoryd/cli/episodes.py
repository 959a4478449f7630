"""``memoryd episode ...``: create, list, view, log-step, complete, delete, checkpoint, resume.

Each command parses its options, calls the backend (``Memory`` in-process or
``Client`` over HTTP, both with the same methods) and renders the result.
In-process, a completed episode's pattern extraction is queued durably and
runs in the daemon's worker or on ``memoryd pattern extract``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from rich.table import Table

from memoryd.cli.app import command_group, id_argument, run, state_of
from memoryd.cli.backend import CommandBackend
from memoryd.cli.memories import Namespace, parse_meta
from memoryd.cli.render import render, rows_table
from memoryd.client import Client
from memoryd.errors import ValidationError
from memoryd.learning.models import Episode, EpisodePage

if TYPE_CHECKING:  # the engine loads only for in-process commands (cli/backend.py)
    from memoryd.engine import Memory

__all__ = ["episode_app", "learning", "run_learning"]

T = TypeVar("T")

episode_app = command_group(
    "episode", "Task episodes: start one, log its steps, complete it (reward, reflection)."
)

EpisodeId = Annotated[str, id_argument("episode")]


class TaskTypeChoice(StrEnum):
    """``--task-type`` values."""

    code_generation = "code_generation"
    debugging = "debugging"
    refactoring = "refactoring"
    testing = "testing"
    analysis = "analysis"
    documentation = "documentation"
    other = "other"


class StatusChoice(StrEnum):
    """``--status`` values of a step result."""

    success = "success"
    error = "error"
    timeout = "timeout"


class OutcomeChoice(StrEnum):
    """``--outcome`` values."""

    success = "success"
    partial = "partial"
    failure = "failure"
    abstained = "abstained"


def learning(engine: CommandBackend) -> Memory | Client:
    """The CLI backend (daemon client or in-process engine) with its learning methods."""
    return cast("Memory | Client", engine)  # both have the learning methods


def run_learning(
    ctx: typer.Context,
    call: Callable[[Memory | Client], T],
    *,
    table: Callable[[T], Any] | None = None,
) -> None:
    """:func:`memoryd.cli.app.run` for a learning command (``call`` gets :func:`learning`)."""
    run(ctx, lambda engine: call(learning(engine)), table=table)


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
    namespace: Namespace = "default",
    domain: Annotated[str, typer.Option("--domain", "-d", help="Domain, e.g. web.")] = "general",
    task_type: Annotated[
        TaskTypeChoice, typer.Option("--task-type", help="Kind of task.")
    ] = TaskTypeChoice.other,
    language: Annotated[str | None, typer.Option("--language", help="Language.")] = None,
    framework: Annotated[str | None, typer.Option("--framework", help="Framework.")] = None,
    complexity: Annotated[
        str, typer.Option("--complexity", help="simple, moderate or complex.")
    ] = "moderate",
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeat).")] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", "-m", help="Metadata key=value (repeat).")
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Agent id.")] = None,
) -> None:
    """Start an episode and print it (use its id with log-step and complete)."""
    context = {"language": language, "framework": framework, "complexity": complexity}
    metadata = parse_meta(meta or [])
    run_learning(
        ctx,
        lambda engine: engine.start_episode(
            task,
            namespace=namespace,
            domain=domain,
            task_type=task_type.value,
            context=context,
            tags=tag or [],
            metadata=metadata,
            agent_id=agent,
        ),
    )


@episode_app.command("list")
def list_episodes(
    ctx: typer.Context,
    namespace: Namespace = "default",
    domain: Annotated[str | None, typer.Option("--domain", "-d", help="Only this domain.")] = None,
    task_type: Annotated[
        TaskTypeChoice | None, typer.Option("--task-type", help="Only this task type.")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="running or completed.")] = None,
    outcome: Annotated[
        OutcomeChoice | None, typer.Option("--outcome", help="Only this outcome.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-l", help="Page size (1..1000).")] = 50,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="next_cursor of the previous page.")
    ] = None,
) -> None:
    """List episodes, newest first, one page at a time."""
    run_learning(
        ctx,
        lambda engine: engine.list_episodes(
            namespace=namespace,
            domain=domain,
            task_type=task_type.value if task_type else None,
            status=status,
            outcome=outcome.value if outcome else None,
            limit=limit,
            cursor=cursor,
        ),
        table=_episodes_table,
    )


@episode_app.command("view")
def view(
    ctx: typer.Context,
    episode_id: EpisodeId,
    namespace: Namespace = "default",
    steps: Annotated[bool, typer.Option("--steps/--no-steps", help="Include the steps.")] = True,
) -> None:
    """Print one episode: steps, outcome, reward components, reflection."""
    run_learning(
        ctx, lambda engine: engine.get_episode(episode_id, namespace=namespace, include_steps=steps)
    )


@episode_app.command("log-step")
def log_step(
    ctx: typer.Context,
    episode_id: EpisodeId,
    tool: Annotated[str, typer.Option("--tool", help="Tool called.")],
    action: Annotated[str, typer.Option("--action", help="What the step did.")],
    namespace: Namespace = "default",
    status: Annotated[
        StatusChoice, typer.Option("--status", help="Result status.")
    ] = StatusChoice.success,
    output: Annotated[str | None, typer.Option("--output", help="Result output.")] = None,
    message: Annotated[str | None, typer.Option("--message", help="Error message.")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Parameter key=value (repeat).")
    ] = None,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Latency (ms).")] = 0.0,
    tokens: Annotated[int, typer.Option("--tokens", help="Tokens used.")] = 0,
) -> None:
    """Append one step to a running episode (committed before the command returns)."""
    result = {"status": status.value, "output": output, "message": message}
    parameters = parse_meta(param or [])
    run_learning(
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
    kind: OutcomeChoice,
    verdict: str | None,
    reason: str | None,
    artifacts: list[str],
    completed: list[str],
    failed: list[str],
) -> dict[str, Any]:
    if kind is OutcomeChoice.success:
        return {"type": "success", "verdict": verdict or "done", "artifacts": artifacts}
    if kind is OutcomeChoice.partial:
        return {
            "type": "partial",
            "verdict": verdict or "",
            "completed": completed,
            "failed": failed,
        }
    if not reason:
        raise ValidationError(f"--reason is required for outcome {kind.value}")
    return {"type": kind.value, "reason": reason}


@episode_app.command("complete")
def complete(
    ctx: typer.Context,
    episode_id: EpisodeId,
    outcome: Annotated[OutcomeChoice, typer.Option("--outcome", "-o", help="How it ended.")],
    namespace: Namespace = "default",
    verdict: Annotated[str | None, typer.Option("--verdict", help="Success verdict.")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why it failed or was abstained.")
    ] = None,
    artifact: Annotated[
        list[str] | None, typer.Option("--artifact", help="Produced artifact (repeat).")
    ] = None,
    done: Annotated[
        list[str] | None, typer.Option("--completed", help="Completed sub-goal (repeat).")
    ] = None,
    failed: Annotated[
        list[str] | None, typer.Option("--failed", help="Failed sub-goal (repeat).")
    ] = None,
    applied: Annotated[
        list[str] | None, typer.Option("--applied-pattern", help="Applied pattern id (repeat).")
    ] = None,
) -> None:
    """Complete an episode: prints the reward, reflection and extraction status."""
    result = _outcome(outcome, verdict, reason, artifact or [], done or [], failed or [])
    run_learning(
        ctx,
        lambda engine: engine.complete_episode(
            episode_id, result, applied_patterns=applied or [], namespace=namespace
        ),
    )


@episode_app.command("delete")
def delete(ctx: typer.Context, episode_id: EpisodeId, namespace: Namespace = "default") -> None:
    """Delete an episode, its steps and its evidence in patterns."""
    state = state_of(ctx)
    with state.backend() as engine:
        learning(engine).delete_episode(episode_id, namespace=namespace)
    render({"deleted": episode_id, "namespace": namespace}, state.output)


@episode_app.command("checkpoint")
def checkpoint(
    ctx: typer.Context,
    episode_id: EpisodeId,
    namespace: Namespace = "default",
    note: Annotated[str, typer.Option("--note", help="Message for the next agent.")] = "",
    agent: Annotated[str | None, typer.Option("--agent", help="Agent id.")] = None,
) -> None:
    """Checkpoint a running episode and print its hand-off pack."""
    run_learning(
        ctx,
        lambda engine: engine.checkpoint_episode(
            episode_id, note=note, agent_id=agent, namespace=namespace
        ),
    )


@episode_app.command("resume")
def resume(
    ctx: typer.Context,
    episode_id: EpisodeId,
    namespace: Namespace = "default",
    agent: Annotated[str | None, typer.Option("--agent", help="Agent taking over.")] = None,
) -> None:
    """Print the hand-off pack to continue a running episode."""
    run_learning(
        ctx, lambda engine: engine.resume_episode(episode_id, agent_id=agent, namespace=namespace)
    )

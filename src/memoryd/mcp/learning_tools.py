"""MCP tools of the self-learning layer, named as the anchor (rust-self-learning-memory) names them.

``create_episode``, ``add_episode_step``, ``complete_episode``,
``query_memory`` (past episodes and patterns for a task:
:meth:`memoryd.Memory.retrieve_context`), ``recommend_patterns``,
``record_feedback``, ``analyze_patterns``, ``advanced_pattern_analysis``,
``health_check`` and ``get_metrics``. Same conventions as
:mod:`memoryd.mcp.tools`: structured outputs with ``served_by``/``degraded``,
memoryd errors as ``isError`` results with their code.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from memoryd.bounds import MAX_PAGE_LIMIT, MAX_STEP_TOKENS, MCP_MAX_CONTEXT, MCP_MAX_RECOMMENDATIONS
from memoryd.learning.models import (
    CompletionResult,
    ContextResult,
    Episode,
    Pattern,
    PatternAnalysis,
    PatternKind,
    PatternMatch,
    SeriesAnalysis,
    Step,
    TaskType,
)
from memoryd.mcp.backend import ToolBackend
from memoryd.mcp.models import Cut, Served, Truncated, served
from memoryd.mcp.results import present, run_tool, tool
from memoryd.reports import StoreStats

__all__ = ["register_learning_tools"]

Namespace = Annotated[str, Field(description="Isolation scope (default 'default').")]


class EpisodeOutput(Served):
    """An episode (task, steps so far, outcome, reward and reflection once completed)."""

    episode: Episode


class StepOutput(Served):
    """The step as stored (durable when returned)."""

    step: Step


class CompletionOutput(Served):
    """Reward with its components, reflection, and whether pattern extraction was queued."""

    completion: CompletionResult


class ContextOutput(Served):
    """Past episodes and patterns most useful for a task, with the reasons."""

    context: ContextResult


class RecommendationsOutput(Served, Truncated):
    """Patterns for a task, best first, with score parts and reasons."""

    CUT: ClassVar[Cut] = Cut("patterns", "first")  # cut to fit: the lowest-ranked go

    patterns: list[PatternMatch]


class PatternOutput(Served):
    """A pattern with its statistics and effectiveness."""

    pattern: Pattern


class PatternAnalysisOutput(Served):
    """Patterns above a success rate and statistics over them."""

    analysis: PatternAnalysis


class SeriesAnalysisOutput(Served):
    """Statistics, trend, forecast, anomalies, change points or Granger causality."""

    analysis: SeriesAnalysis


class HealthOutput(Served):
    """Whether memory can serve: store open, vector index loaded, embeddings pending."""

    status: Literal["ok", "degraded"]
    index_ready: bool
    pending_embeddings: int


class MetricsOutput(Served):
    """Counts and sizes of the store (memories by kind and namespace, vectors, bytes)."""

    stats: StoreStats


def register_learning_tools(server: MCPServer, backend: ToolBackend) -> None:  # noqa: C901
    """Add the self-learning tools to ``server``; calls run on ``backend``."""

    @tool(server, "create_episode")
    async def create_episode(
        task_description: Annotated[str, Field(description="The task the agent starts.")],
        domain: Annotated[str, Field(description="e.g. 'web-api', 'data-pipeline'.")] = "general",
        task_type: TaskType = "other",
        language: str | None = None,
        framework: str | None = None,
        complexity: Literal["simple", "moderate", "complex"] | None = None,
        tags: list[str] | None = None,
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, EpisodeOutput]:
        """Start an episode for a task; log its steps, then complete it with an outcome."""
        context = present(language=language, framework=framework, complexity=complexity)
        fields: dict[str, Any] = {"domain": domain, "task_type": task_type, "context": context}
        if tags:
            fields["tags"] = tags
        return await run_tool(
            backend.call("start_episode", task_description, namespace=namespace, **fields),
            lambda r: EpisodeOutput(episode=r.value, **served(r)),
            compact=False,
        )

    @tool(server, "add_episode_step")
    async def add_episode_step(
        episode_id: str,
        tool: Annotated[str, Field(description="The tool the agent used.")],
        action: Annotated[str, Field(description="What it did with it.")],
        status: Literal["success", "error", "timeout"],
        output: str | None = None,
        message: Annotated[str | None, Field(description="Error or timeout message.")] = None,
        parameters: dict[str, Any] | None = None,
        latency_ms: Annotated[float, Field(ge=0)] = 0.0,
        tokens: Annotated[int, Field(ge=0, le=MAX_STEP_TOKENS)] = 0,
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, StepOutput]:
        """Log one step of a running episode (committed before this returns)."""
        step = {
            "tool": tool,
            "action": action,
            "result": present(status=status, output=output, message=message),
            "parameters": parameters or {},
            "latency_ms": latency_ms,
            "tokens": tokens,
        }
        return await run_tool(
            backend.call("log_step", episode_id, step, namespace=namespace),
            lambda r: StepOutput(step=r.value, **served(r)),
            compact=False,
        )

    @tool(server, "complete_episode")
    async def complete_episode(
        episode_id: str,
        outcome: Annotated[
            dict[str, Any],
            Field(
                description='{"type": "success", "verdict": "...", "artifacts": [...]}, '
                '{"type": "partial", "completed": [...], "failed": [...]}, '
                '{"type": "failure", "reason": "..."} or {"type": "abstained", "reason": "..."}'
            ),
        ],
        applied_patterns: Annotated[
            list[str] | None, Field(description="Ids of recommended patterns the agent applied.")
        ] = None,
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, CompletionOutput]:
        """Complete an episode: reward (with components), reflection, pattern extraction."""
        return await run_tool(
            backend.call(
                "complete_episode",
                episode_id,
                outcome,
                applied_patterns=applied_patterns or [],
                namespace=namespace,
            ),
            lambda r: CompletionOutput(completion=r.value, **served(r)),
            compact=False,
        )

    @tool(server, "query_memory")
    async def query_memory(
        query: Annotated[str, Field(description="The new task, in natural language.")],
        domain: str | None = None,
        task_type: TaskType | None = None,
        limit: Annotated[int, Field(ge=1, le=MCP_MAX_CONTEXT)] = 5,
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, ContextOutput]:
        """Past episodes and patterns most useful for a task, with why each was chosen."""
        return await run_tool(
            backend.call(
                "retrieve_context",
                query,
                domain=domain,
                task_type=task_type,
                limit=limit,
                namespace=namespace,
            ),
            lambda r: ContextOutput(context=r.value, **served(r)),
            compact=False,
        )

    @tool(server, "recommend_patterns")
    async def recommend_patterns(
        task: str,
        domain: str | None = None,
        task_type: TaskType | None = None,
        kinds: list[PatternKind] | None = None,
        limit: Annotated[int, Field(ge=1, le=MCP_MAX_RECOMMENDATIONS)] = 5,
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, RecommendationsOutput]:
        """Patterns that worked for similar tasks, ranked by relevance, effectiveness, recency."""
        return await run_tool(
            backend.call(
                "recommend_patterns",
                task,
                domain=domain,
                task_type=task_type,
                kinds=kinds,
                limit=limit,
                namespace=namespace,
            ),
            lambda r: RecommendationsOutput(patterns=r.value, **served(r)),
            compact=False,
        )

    @tool(server, "record_feedback")
    async def record_feedback(
        pattern_id: str,
        applied: bool = True,
        success: bool | None = None,
        reward: Annotated[
            float | None, Field(description="The episode's reward, if known.")
        ] = None,
        episode_id: str | None = None,
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, PatternOutput]:
        """Say whether a recommended pattern was applied and worked; the ranking uses it."""
        return await run_tool(
            backend.call(
                "record_feedback",
                pattern_id,
                applied=applied,
                success=success,
                reward=reward,
                episode_id=episode_id,
                namespace=namespace,
            ),
            lambda r: PatternOutput(pattern=r.value, **served(r)),
            compact=False,
        )

    @tool(server, "analyze_patterns")
    async def analyze_patterns(
        task_type: TaskType | None = None,
        min_success_rate: Annotated[float, Field(ge=0, le=1)] = 0.0,
        limit: Annotated[int, Field(ge=1, le=MAX_PAGE_LIMIT)] = 20,
        domain: str | None = None,
        namespace: Namespace = "default",
    ) -> Annotated[CallToolResult, PatternAnalysisOutput]:
        """Patterns at or above a success rate, with statistics over them."""
        return await run_tool(
            backend.call(
                "analyze_patterns",
                task_type=task_type,
                min_success_rate=min_success_rate,
                limit=limit,
                domain=domain,
                namespace=namespace,
            ),
            lambda r: PatternAnalysisOutput(analysis=r.value, **served(r)),
            compact=False,
        )

    @tool(server, "advanced_pattern_analysis")
    async def advanced_pattern_analysis(
        kind: Annotated[
            str,
            Field(description="statistics, trend, forecast, anomalies, changepoints or causality"),
        ],
        series: Annotated[
            dict[str, list[float]], Field(description="Named metric series of equal length.")
        ],
        config: dict[str, Any] | None = None,
    ) -> Annotated[CallToolResult, SeriesAnalysisOutput]:
        """Time-series analysis of metrics (scipy, statsmodels) at a significance level."""
        return await run_tool(
            backend.call("advanced_pattern_analysis", kind, series, config),
            lambda r: SeriesAnalysisOutput(analysis=r.value, **served(r)),
            compact=False,
        )

    @tool(server, "health_check")
    async def health_check() -> Annotated[CallToolResult, HealthOutput]:
        """Whether memory is healthy: which path serves, index loaded, embeddings pending."""

        def render(r: Any) -> HealthOutput:
            stats: StoreStats = r.value
            ok = stats.index_ready and not r.degraded
            return HealthOutput(
                status="ok" if ok else "degraded",
                index_ready=stats.index_ready,
                pending_embeddings=stats.pending_embeddings,
                **served(r),
            )

        return await run_tool(backend.call("stats"), render, compact=False)

    @tool(server, "get_metrics")
    async def get_metrics() -> Annotated[CallToolResult, MetricsOutput]:
        """Counts and sizes of the store: memories by kind and namespace, vectors, bytes."""
        return await run_tool(
            backend.call("stats"),
            lambda r: MetricsOutput(stats=r.value, **served(r)),
            compact=False,
        )

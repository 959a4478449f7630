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

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from memoryd.bounds import MAX_PAGE_LIMIT, MAX_STEP_TOKENS, MCP_MAX_CONTEXT, MCP_MAX_RECOMMENDATIONS
from memoryd.client.routing import Routed
from memoryd.learning.models import PatternKind, TaskType
from memoryd.mcp.backend import ToolBackend
from memoryd.mcp.maker import Call, ToolMaker
from memoryd.mcp.models import Cut, Served, served
from memoryd.mcp.params import EpisodeNamespace
from memoryd.mcp.results import present

__all__ = ["register_learning_tools"]


class HealthOutput(Served):
    """Whether memory can serve: store open, vector index loaded, embeddings pending."""

    status: Literal["ok", "degraded"]
    index_ready: bool
    pending_embeddings: int

    @classmethod
    def of(cls, routed: Routed[Any], arguments: Mapping[str, Any]) -> Self:
        """Health from ``StoreStats``: ok when the index is ready and the daemon served."""
        stats = routed.value
        ok = stats.index_ready and not routed.degraded
        return cls(
            status="ok" if ok else "degraded",
            index_ready=stats.index_ready,
            pending_embeddings=stats.pending_embeddings,
            **served(routed),
        )


def register_learning_tools(server: MCPServer, backend: ToolBackend) -> None:
    """Add the self-learning tools to ``server``; calls run on ``backend``."""
    tools = ToolMaker(server, backend, compact=False)

    @tools.answer(
        "EpisodeOutput",
        "episode",
        "An episode (task, steps so far, outcome, reward and reflection once completed).",
    )
    def create_episode(
        task_description: Annotated[str, Field(description="The task the agent starts.")],
        domain: Annotated[str, Field(description="e.g. 'web-api', 'data-pipeline'.")] = "general",
        task_type: TaskType = "other",
        language: str | None = None,
        framework: str | None = None,
        complexity: Literal["simple", "moderate", "complex"] | None = None,
        tags: list[str] | None = None,
        namespace: EpisodeNamespace = "default",
    ) -> Call:
        """Start an episode for a task; log its steps, then complete it with an outcome."""
        context = present(language=language, framework=framework, complexity=complexity)
        fields: dict[str, Any] = {"domain": domain, "task_type": task_type, "context": context}
        if tags:
            fields["tags"] = tags
        return Call(task_description, namespace=namespace, **fields)

    @tools.answer("StepOutput", "step", "The step as stored (durable when returned).")
    def add_episode_step(
        episode_id: str,
        tool: Annotated[str, Field(description="The tool the agent used.")],
        action: Annotated[str, Field(description="What it did with it.")],
        status: Literal["success", "error", "timeout"],
        output: str | None = None,
        message: Annotated[str | None, Field(description="Error or timeout message.")] = None,
        parameters: dict[str, Any] | None = None,
        latency_ms: Annotated[float, Field(ge=0)] = 0.0,
        tokens: Annotated[int, Field(ge=0, le=MAX_STEP_TOKENS)] = 0,
        namespace: EpisodeNamespace = "default",
    ) -> Call:
        """Log one step of a running episode (committed before this returns)."""
        step = {
            "tool": tool,
            "action": action,
            "result": present(status=status, output=output, message=message),
            "parameters": parameters or {},
            "latency_ms": latency_ms,
            "tokens": tokens,
        }
        return Call(episode_id, step, namespace=namespace)

    @tools.answer(
        "CompletionOutput",
        "completion",
        "Reward with its components, reflection, and whether pattern extraction was queued.",
    )
    def complete_episode(
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
        namespace: EpisodeNamespace = "default",
    ) -> None:
        """Complete an episode: reward (with components), reflection, pattern extraction."""

    @tools.answer(
        "ContextOutput",
        "context",
        "Past episodes and patterns most useful for a task, with the reasons.",
        rename={"query": "task"},
    )
    def query_memory(
        query: Annotated[str, Field(description="The new task, in natural language.")],
        domain: str | None = None,
        task_type: TaskType | None = None,
        limit: Annotated[int, Field(ge=1, le=MCP_MAX_CONTEXT)] = 5,
        namespace: EpisodeNamespace = "default",
    ) -> None:
        """Past episodes and patterns most useful for a task, with why each was chosen."""

    @tools.answer(
        "RecommendationsOutput",
        "patterns",
        "Patterns for a task, best first, with score parts and reasons.",
        cut=Cut("patterns", "first"),  # cut to fit: the lowest-ranked go
    )
    def recommend_patterns(
        task: str,
        domain: str | None = None,
        task_type: TaskType | None = None,
        kinds: list[PatternKind] | None = None,
        limit: Annotated[int, Field(ge=1, le=MCP_MAX_RECOMMENDATIONS)] = 5,
        namespace: EpisodeNamespace = "default",
    ) -> None:
        """Patterns that worked for similar tasks, ranked by relevance, effectiveness, recency."""

    @tools.answer("PatternOutput", "pattern", "A pattern with its statistics and effectiveness.")
    def record_feedback(
        pattern_id: str,
        applied: bool = True,
        success: bool | None = None,
        reward: Annotated[
            float | None, Field(description="The episode's reward, if known.")
        ] = None,
        episode_id: str | None = None,
        namespace: EpisodeNamespace = "default",
    ) -> None:
        """Say whether a recommended pattern was applied and worked; the ranking uses it."""

    @tools.answer(
        "PatternAnalysisOutput",
        "analysis",
        "Patterns above a success rate and statistics over them.",
    )
    def analyze_patterns(
        task_type: TaskType | None = None,
        min_success_rate: Annotated[float, Field(ge=0, le=1)] = 0.0,
        limit: Annotated[int, Field(ge=1, le=MAX_PAGE_LIMIT)] = 20,
        domain: str | None = None,
        namespace: EpisodeNamespace = "default",
    ) -> None:
        """Patterns at or above a success rate, with statistics over them."""

    @tools.answer(
        "SeriesAnalysisOutput",
        "analysis",
        "Statistics, trend, forecast, anomalies, change points or Granger causality.",
    )
    def advanced_pattern_analysis(
        kind: Annotated[
            str,
            Field(description="statistics, trend, forecast, anomalies, changepoints or causality"),
        ],
        series: Annotated[
            dict[str, list[float]], Field(description="Named metric series of equal length.")
        ],
        config: dict[str, Any] | None = None,
    ) -> None:
        """Time-series analysis of metrics (scipy, statsmodels) at a significance level."""

    @tools(HealthOutput)
    def health_check() -> None:
        """Whether memory is healthy: which path serves, index loaded, embeddings pending."""

    @tools.answer(
        "MetricsOutput",
        "stats",
        "Counts and sizes of the store (memories by kind and namespace, vectors, bytes).",
    )
    def get_metrics() -> None:
        """Counts and sizes of the store: memories by kind and namespace, vectors, bytes."""

"""The self-learning operations of the registry: episodes and patterns.

Declared as :mod:`memoryd.operations.catalog` declares the rest (which
joins them into :data:`~memoryd.operations.catalog.OPERATIONS`).
"""

from __future__ import annotations

from typing import Any, Literal

from memoryd.errors import EpisodeAlreadyCompleted, EpisodeNotFound, PatternNotFound
from memoryd.learning.models import (
    CompletionResult,
    ContextResult,
    DecayReport,
    Episode,
    EpisodePage,
    EpisodePatch,
    ExtractionReport,
    FeedbackInput,
    HandoffPack,
    Pattern,
    PatternAnalysis,
    PatternMatch,
    SeriesAnalysis,
    Step,
)
from memoryd.operations.learning_bodies import (
    AnalyzeBody,
    CheckpointBody,
    CompleteBody,
    ContextQuery,
    DecayBody,
    ExtractBody,
    RecommendBody,
    ResumeBody,
    SearchBody,
    SeriesBody,
    StepsBody,
)
from memoryd.operations.reasons import CLI_LATER, LEARNING_TOOLS, OPERATOR, PATTERN_TOOLS
from memoryd.operations.spec import Effect, Face, Method, Operation, Rest

__all__ = ["EPISODES", "PATTERNS"]

R, W, D = Effect.READ, Effect.WRITE, Effect.DELETE


def _one(thing: Literal["episode", "pattern"], method: Method, tail: str = "", **rest: Any) -> Rest:
    """The route of an act on one episode or pattern: ``/v1/<thing>s/{id}<tail>``, where
    ``{id}`` is the library's ``<thing>_id`` (``rest``: the other :class:`Rest` fields)."""
    return Rest(method, f"/v1/{thing}s/{{id}}{tail}", wire={f"{thing}_id": "id"}, **rest)


#: The episode operations (the self-learning layer's record of tasks).
EPISODES = (
    Operation(
        "start_episode",
        W,
        Episode,
        rest=Rest("POST", "/v1/episodes", 201, custom=True, hand_route=True),
        tools=("create_episode",),
        cli="episode create",
    ),
    Operation(
        "list_episodes",
        R,
        EpisodePage,
        rest=Rest(
            "GET",
            "/v1/episodes",
            query=("namespace", "domain", "task_type", "status", "outcome", "limit", "cursor"),
        ),
        cli="episode list",
        omitted={Face.MCP: LEARNING_TOOLS},
    ),
    Operation(
        "get_episode",
        R,
        Episode,
        rest=_one("episode", "GET", query=("namespace", "include_steps")),
        cli="episode view",
        raises=(EpisodeNotFound,),
        omitted={Face.MCP: LEARNING_TOOLS},
    ),
    Operation(
        "update_episode",
        W,
        Episode,
        rest=_one("episode", "PATCH", body=EpisodePatch, custom=True),
        raises=(EpisodeNotFound,),
        idempotent=True,
        omitted={Face.MCP: LEARNING_TOOLS, Face.CLI: CLI_LATER},
    ),
    Operation(
        "delete_episode",
        D,
        None,
        rest=_one("episode", "DELETE", status=204),
        cli="episode delete",
        raises=(EpisodeNotFound,),
        omitted={Face.MCP: LEARNING_TOOLS},
    ),
    Operation(
        "log_steps",
        W,
        list[Step],
        rest=_one("episode", "POST", "/steps", status=201, body=StepsBody, custom=True),
        raises=(EpisodeNotFound, EpisodeAlreadyCompleted),
        omitted={
            Face.MCP: "add_episode_step logs one step per call, as agents act",
            Face.CLI: "episode log-step logs one step per command",
        },
    ),
    Operation(
        "log_step",
        W,
        Step,
        rest=_one("episode", "POST", "/steps", status=201, via="log_steps", custom=True),
        tools=("add_episode_step",),
        cli="episode log-step",
        raises=(EpisodeNotFound, EpisodeAlreadyCompleted),
    ),
    Operation(
        "complete_episode",
        W,
        CompletionResult,
        rest=_one("episode", "POST", "/complete", body=CompleteBody, custom=True),
        tools=("complete_episode",),
        cli="episode complete",
        raises=(EpisodeNotFound, EpisodeAlreadyCompleted),
    ),
    Operation(
        "checkpoint_episode",
        W,
        HandoffPack,
        rest=_one("episode", "POST", "/checkpoint", body=CheckpointBody),
        cli="episode checkpoint",
        raises=(EpisodeNotFound, EpisodeAlreadyCompleted),
        omitted={Face.MCP: LEARNING_TOOLS},
    ),
    Operation(
        "resume_episode",
        W,
        HandoffPack,
        rest=_one("episode", "POST", "/resume", body=ResumeBody),
        cli="episode resume",
        raises=(EpisodeNotFound, EpisodeAlreadyCompleted),
        omitted={Face.MCP: LEARNING_TOOLS},
    ),
    Operation(
        "retrieve_context",
        R,
        ContextResult,
        rest=Rest("POST", "/v1/context", body=ContextQuery),
        tools=("query_memory",),
        omitted={Face.CLI: CLI_LATER},
    ),
)

#: The pattern operations (what worked, extracted from episodes).
PATTERNS = (
    Operation(
        "list_patterns",
        R,
        list[Pattern],
        rest=Rest(
            "GET",
            "/v1/patterns",
            query=("namespace", "kinds", "domain", "task_type", "include_archived", "limit"),
        ),
        cli="pattern list",
        omitted={Face.MCP: PATTERN_TOOLS},
    ),
    Operation(
        "get_pattern",
        R,
        Pattern,
        rest=_one("pattern", "GET"),
        cli="pattern view",
        raises=(PatternNotFound,),
        omitted={Face.MCP: PATTERN_TOOLS},
    ),
    Operation(
        "search_patterns",
        R,
        list[PatternMatch],
        rest=Rest("POST", "/v1/patterns/search", body=SearchBody),
        cli="pattern search",
        omitted={Face.MCP: PATTERN_TOOLS},
    ),
    Operation(
        "recommend_patterns",
        R,
        list[PatternMatch],
        rest=Rest("POST", "/v1/patterns/recommend", body=RecommendBody),
        tools=("recommend_patterns",),
        cli="pattern recommend",
    ),
    Operation(
        "record_feedback",
        W,
        Pattern,
        rest=_one("pattern", "POST", "/feedback", body=FeedbackInput),
        tools=("record_feedback",),
        cli="pattern feedback",
        raises=(PatternNotFound,),
    ),
    Operation(
        "analyze_patterns",
        R,
        PatternAnalysis,
        rest=Rest("POST", "/v1/patterns/analyze", body=AnalyzeBody),
        tools=("analyze_patterns",),
        omitted={Face.CLI: CLI_LATER},
    ),
    Operation(
        "extract_patterns",
        W,
        ExtractionReport,
        rest=Rest("POST", "/v1/patterns/extract", query=(), body=ExtractBody),
        cli="pattern extract",
        omitted={Face.MCP: "the daemon's worker extracts patterns itself; operators force it"},
    ),
    Operation(
        "decay_patterns",
        W,
        DecayReport,
        rest=Rest("POST", "/v1/patterns/decay", body=DecayBody),
        cli="pattern decay",
        omitted={Face.MCP: OPERATOR},
    ),
    Operation(
        "advanced_pattern_analysis",
        R,
        SeriesAnalysis,
        rest=Rest("POST", "/v1/analysis", query=(), body=SeriesBody),
        tools=("advanced_pattern_analysis",),
        omitted={Face.CLI: CLI_LATER},
    ),
)

"""The bounds on caller-supplied numbers and lists, one place for each.

Request models (``types.py``, ``learning/models.py``, the REST schemas),
REST query parameters, MCP tool parameters and the engine's own checks all
import these constants, so a bound changes in one place and every face
rejects the same inputs with ``validation_error`` (HTTP 422).

Integers are stored in SQLite ``INTEGER`` columns or passed as SQL
parameters (``LIMIT ?``), so no accepted integer may exceed
:data:`INT64_MAX` (SQLite's largest integer, "Datatypes In SQLite",
https://www.sqlite.org/datatype3.html); the maxima below are far smaller.
"""

from __future__ import annotations

from memoryd.errors import ValidationError

__all__ = [
    "DEFAULT_BUDGET_TOKENS",
    "INT64_MAX",
    "MAX_ANALYSIS_SERIES",
    "MAX_BUDGET_TOKENS",
    "MAX_LAST_MESSAGES",
    "MAX_PAGE_LIMIT",
    "MAX_SERIES_POINTS",
    "MAX_STEP_TOKENS",
    "MCP_MAX_BUDGET_TOKENS",
    "MCP_MAX_CONTEXT",
    "MCP_MAX_PAGE",
    "MCP_MAX_RECENT_TURNS",
    "MCP_MAX_RECOMMENDATIONS",
    "MCP_MAX_SEARCH_HITS",
    "MIN_BUDGET_TOKENS",
    "check_count",
]

#: SQLite's largest INTEGER (signed 64-bit): nothing accepted may exceed it.
INT64_MAX = 2**63 - 1
#: Largest page or result ``limit`` of any list/search call (entries per answer).
MAX_PAGE_LIMIT = 1000
#: Largest ``last``/``n`` of "the last N turns of a session" (turns).
MAX_LAST_MESSAGES = 10_000
#: Largest ``tokens`` one logged step may report (LLM tokens; 10⁹ is far above any context).
MAX_STEP_TOKENS = 1_000_000_000
#: Most points in one analysed series; every analysis uses memory linear in it.
MAX_SERIES_POINTS = 100_000
#: Most named series in one analysis request (causality tests every ordered pair).
MAX_ANALYSIS_SERIES = 16
#: Smallest ``budget_tokens`` of ``pack_context`` (tokens of the embedding model's tokenizer).
MIN_BUDGET_TOKENS = 16
#: Largest ``budget_tokens`` of ``pack_context`` (tokens; far above any model's context).
MAX_BUDGET_TOKENS = 200_000
#: ``pack_context``'s ``budget_tokens`` when none is given (tokens).
DEFAULT_BUDGET_TOKENS = 2_000

# MCP tools answer into a model's context (Claude Code caps a tool result at 25k
# tokens by default), so their counts stop below the REST ones; a result over
# ``Settings.mcp_max_result_bytes`` is cut as well (``mcp/results.py``).
#: Most hits of ``memory_search`` (hits).
MCP_MAX_SEARCH_HITS = 100
#: Largest ``memory_list`` page (entries).
MCP_MAX_PAGE = 200
#: Most turns of ``conversation_recent`` (turns).
MCP_MAX_RECENT_TURNS = 500
#: Most episodes and patterns of ``query_memory`` (each).
MCP_MAX_CONTEXT = 100
#: Most patterns of ``recommend_patterns`` (patterns).
MCP_MAX_RECOMMENDATIONS = 50
#: Largest ``budget_tokens`` of ``memory_context`` (tokens; about 60 kB of text and citations).
MCP_MAX_BUDGET_TOKENS = 12_000


def check_count(value: object, name: str, *, low: int = 1, high: int) -> int:
    """Return ``value`` if it is an integer in ``low..high`` (inclusive).

    ``bool`` is refused (``True`` is not a count).

    Raises:
        ValidationError: not an ``int``, or outside the range.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"{name} must be an integer", **{name: repr(value)[:64]})
    if not low <= value <= high:
        raise ValidationError(
            f"{name} must be between {low} and {high}",
            **{name: value if value < INT64_MAX else str(value)},
        )
    return value

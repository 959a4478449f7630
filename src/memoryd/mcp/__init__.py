"""memoryd as an MCP server: the same tools over stdio (``memoryd mcp``) and at ``/mcp``.

* :mod:`.models` — structured outputs (pydantic), each saying ``served_by`` and ``degraded``.
* :mod:`.maker`, :mod:`.params` — tools made from declarations (a signature, the
  registry's operation, an output model) and the parameter types they share.
* :mod:`.backend` — where a tool call runs: the daemon's own engine, or a
  lifecycle :class:`memoryd.Client` (daemon, restart, in-process fallback).
* :mod:`.tools` — :func:`build_server`: tools ``memory_save``, ``memory_search``,
  ``memory_get``, ``memory_update``, ``memory_supersede``, ``memory_delete``,
  ``memory_list``, ``conversation_append``, ``conversation_recent``,
  ``state_set``, ``state_get`` and the resource template ``memory://{id}``.
* :mod:`.learning_tools` — ``create_episode``, ``add_episode_step``,
  ``complete_episode``, ``query_memory``, ``recommend_patterns``,
  ``record_feedback``, ``analyze_patterns``, ``advanced_pattern_analysis``,
  ``health_check``, ``get_metrics``.
* :mod:`.http` — mounting at ``/mcp`` on the daemon (same token and Host/Origin checks).
* :mod:`.stdio` — ``memoryd mcp``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memoryd.mcp.tools import build_server

__all__ = ["build_server"]


def __getattr__(name: str) -> Any:
    # The SDK takes ~0.5 s to import: load it only when a tool set is built.
    if name == "build_server":
        from memoryd.mcp.tools import build_server

        return build_server
    raise AttributeError(f"module 'memoryd.mcp' has no attribute {name!r}")

"""Dependencies shared by the routes: the engine and the server state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from memoryd.engine import Memory
from memoryd.server.state import ServerState

__all__ = ["MemoryDep", "Namespace", "StateDep", "get_memory", "get_state"]


def get_state(request: Request) -> ServerState:
    """The app's :class:`ServerState`."""
    state: ServerState = request.app.state.server
    return state


async def get_memory(request: Request) -> Memory:
    """The open engine; raises ``BackendUnavailable`` (503) until it is ready."""
    return get_state(request).memory()


MemoryDep = Annotated[Memory, Depends(get_memory)]
StateDep = Annotated[ServerState, Depends(get_state)]
Namespace = Annotated[str, Query(description="Tenant scope of the record.")]

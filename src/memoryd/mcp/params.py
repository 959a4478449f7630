"""The parameter types several MCP tools share, each declared once.

A tool's input schema is its declaration's signature (:mod:`memoryd.mcp.maker`),
so these are ``Annotated`` types: the Python type with the ``Field`` bounds and
description the schema shows. A parameter of one tool stays in its signature.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["EpisodeNamespace", "Fraction", "MemoryId", "Namespace"]

#: The namespace of the memory tools (default ``"default"``).
Namespace = Annotated[
    str, Field(description="Isolation scope, e.g. a project or user (default 'default').")
]
#: The namespace of the episode and pattern tools (default ``"default"``).
EpisodeNamespace = Annotated[str, Field(description="Isolation scope (default 'default').")]
#: The id of a memory (a UUID, as text).
MemoryId = Annotated[str, Field(description="The memory's id (a UUID).")]
#: An optional number in ``[0, 1]`` (importance, a minimum score).
Fraction = Annotated[float | None, Field(ge=0, le=1)]

"""What one operation of memoryd is, on every face: the registry's record types.

An :class:`Operation` is declared once, in :mod:`memoryd.operations.catalog`,
with what each face needs to serve it: its REST method and path
(:class:`Rest`), its MCP tool names and the hints their annotations carry
(:class:`Effect`), its CLI command, and, for each face that deliberately
leaves it out, the reason. The faces read it: the REST routes take their
method, path, status, response model and documented errors from it, and
are built from it unless declared ``hand_route`` (``server/routes/``); the
MCP tools take their operation and annotations (``mcp/maker.py``); the
face-coverage test (``tests/test_operations.py``) fails when a face serves
an operation the registry does not declare, or lacks one without a declared
reason.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from memoryd.errors import MemorydError

__all__ = ["Effect", "Face", "Method", "Operation", "Rest"]

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

_PATH_PARAM = re.compile(r"\{([a-z_]+)(?::path)?\}")


class Face(enum.StrEnum):
    """A way to reach memoryd's operations."""

    #: ``memoryd.Memory``, the library (every operation is one of its methods).
    LIBRARY = "library"
    #: ``memoryd.Client``, the Python client (same methods as ``Memory``).
    CLIENT = "client"
    #: The daemon's REST API under ``/v1`` (and the TypeScript client over it).
    REST = "rest"
    #: MCP tools (daemon over HTTP, ``memoryd mcp`` over stdio).
    MCP = "mcp"
    #: The ``memoryd`` command line.
    CLI = "cli"


class Effect(enum.StrEnum):
    """What an operation does to stored data; MCP tool annotations come from it.

    The hints are those of the MCP spec's ``ToolAnnotations`` (2025-03-26 and
    later): ``readOnlyHint``, ``destructiveHint``, ``idempotentHint``,
    ``openWorldHint`` (always false: memoryd reaches nothing outside its store).
    """

    #: Reads only (``readOnlyHint``; calling again changes nothing).
    READ = "read"
    #: Adds or changes entries without destroying any.
    WRITE = "write"
    #: Deletes entries for good (``destructiveHint``).
    DELETE = "delete"


@dataclass(frozen=True)
class Rest:
    """How the REST face serves an operation.

    Attributes:
        method: the HTTP method.
        path: the full path, with ``{name}`` parameters (``{key:path}`` takes slashes).
        status: the success status (``201`` for a create, ``204`` for no body).
        response: the wire model of the success body when it is not the
            operation's own ``response`` (``ValueOut`` for a bare value),
            ``None`` to use the operation's.
        via: the name of another operation whose route serves this one
            (``last_messages`` is ``GET …/messages?last=N``); such an entry
            declares no route of its own.
        query: the library arguments sent as query parameters.
        body: the model of the JSON body, built from the library arguments
            that are neither path nor query parameters (``None``: no body).
        wire: library argument name → its name on the wire, where they differ
            (``{"pattern_id": "id"}``, ``{"n": "last"}``).
        unwrap: the field of ``response`` that holds what the library returns
            (``ValueOut.value``, ``DeleteResult.deleted``).
        custom: the Python client builds this request by hand
            (``client/requests.py``: local input coercion shared with the
            engine, chunking, streaming); the fields above then only document it.
        hand_route: the daemon's handler is written by hand (``@endpoint`` in
            ``server/routes/``) because it does work this declaration cannot
            say: streaming, metrics, putting the query's namespace into the
            body, serving a ``via`` operation. Otherwise
            ``server/routes/generated.py`` builds the route from the fields
            above and ``Memory``'s signature, and no route code is written.
    """

    method: Method
    path: str
    status: int = 200
    response: Any = None
    via: str | None = None
    query: tuple[str, ...] = ("namespace",)
    body: type[BaseModel] | None = None
    wire: Mapping[str, str] = field(default_factory=dict)
    unwrap: str | None = None
    custom: bool = False
    hand_route: bool = False

    @property
    def path_params(self) -> tuple[str, ...]:
        """The names of the path's parameters, in order."""
        return tuple(_PATH_PARAM.findall(self.path))


@dataclass(frozen=True)
class Operation:
    """One operation of memoryd, as every face serves it.

    Attributes:
        name: the method name on ``Memory`` and ``Client`` (snake_case); the
            first line of that method's docstring says what it does (the
            generated ``Client`` method's docstring).
        effect: read, write or delete (MCP annotations, documentation).
        response: the type the library returns (a model, ``list[...]``, ``None``).
        raises: the errors this operation raises beyond the ones any call can
            (validation, storage, availability); the REST face documents their
            ``http_status`` answers.
        idempotent: repeating the same call leaves the same state (``idempotentHint``).
        rest: how the REST face serves it, ``None`` when it does not.
        tools: the MCP tools that serve it (more than one when tools are views of it).
        cli: the ``memoryd`` command that serves it, e.g. ``"episode create"``.
        omitted: the faces that deliberately leave it out, each with the reason.

    Raises:
        ValueError: at declaration, when a face both serves the operation and
            is listed in ``omitted``, or neither serves it nor gives a reason.
    """

    name: str
    effect: Effect
    response: Any
    _: KW_ONLY
    raises: tuple[type[MemorydError], ...] = ()
    idempotent: bool = False
    rest: Rest | None = None
    tools: tuple[str, ...] = ()
    cli: str | None = None
    omitted: Mapping[Face, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if Face.LIBRARY in self.omitted:
            raise ValueError(f"{self.name}: every operation is a method of Memory")
        served = {
            Face.REST: self.rest is not None,
            Face.MCP: bool(self.tools),
            Face.CLI: self.cli is not None,
        }
        for face, serves in served.items():
            reason = self.omitted.get(face)
            if serves and reason is not None:
                raise ValueError(f"{self.name}: {face} serves it and is omitted ({reason})")
            if not serves and not reason:
                raise ValueError(f"{self.name}: {face} does not serve it and gives no reason")
        if not self.omitted.get(Face.CLIENT, "-"):
            raise ValueError(f"{self.name}: the client's omission gives no reason")

    def serves(self, face: Face) -> bool:
        """Whether ``face`` serves this operation (else ``omitted[face]`` says why)."""
        return face not in self.omitted

    @property
    def error_statuses(self) -> tuple[int, ...]:
        """The HTTP statuses this operation answers beyond the common ones, ascending.

        ``404`` for a route with path parameters (the record they name may not
        exist, or the path cannot be routed, e.g. a newline in a key), plus the
        ``http_status`` of each of :attr:`raises`.
        """
        statuses = {error.http_status for error in self.raises}
        if self.rest is not None and self.rest.path_params:
            statuses.add(404)
        return tuple(sorted(statuses))

    @property
    def annotations(self) -> dict[str, bool]:
        """The MCP ``ToolAnnotations`` hints of this operation's tools."""
        if self.effect is Effect.READ:
            return {"readOnlyHint": True, "idempotentHint": True, "openWorldHint": False}
        hints = {
            "readOnlyHint": False,
            "destructiveHint": self.effect is Effect.DELETE,
            "openWorldHint": False,
        }
        if self.idempotent or self.effect is Effect.DELETE:
            hints["idempotentHint"] = True
        return hints

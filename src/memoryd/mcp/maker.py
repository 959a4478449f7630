"""MCP tools made from declarations: a signature, one backend operation, one output mapping.

A tool is declared as a plain function: its name is the tool's, its signature
the input schema, its docstring the description. :class:`ToolMaker` adds it
with the operation and annotations the registry declares for it
(:func:`memoryd.operations.tool_operation`) and maps each answer to the output
model (:meth:`Served.of <memoryd.mcp.models.Served.of>`). Most declarations
have no body (``-> None``): the tool's arguments are the operation's keyword
arguments (left out when at a ``None`` default, so the library's defaults
apply). One whose arguments must be reshaped (``-> Call``) returns a
:class:`Call` with the operation's arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar, cast

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ToolAnnotations

from memoryd.errors import MemorydError
from memoryd.mcp.backend import ToolBackend
from memoryd.mcp.models import Cut, Served, answer_model
from memoryd.mcp.results import error_result, ok_result
from memoryd.operations import tool_operation

__all__ = ["Call", "ToolMaker"]

Declaration = TypeVar("Declaration", bound=Callable[..., "Call | None"])


class Call:
    """The arguments of the tool's ``Memory`` method, when they are not the tool's own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


class ToolMaker:
    """Adds declared tools to ``server``, each running its operation on ``backend``.

    Args:
        server: the server the tools are added to, in declaration order.
        backend: where the operations run.
        compact: leave ``null`` fields out of the results (fewer tokens, faster
            client-side schema checks: docs/PERFORMANCE.md); only for outputs
            whose nullable fields all have defaults (the memory outputs).
    """

    def __init__(self, server: MCPServer, backend: ToolBackend, *, compact: bool = True) -> None:
        self._server = server
        self._backend = backend
        self._compact = compact

    def __call__(self, output: type[Served]) -> Callable[[Declaration], Declaration]:
        """A decorator that adds the declared tool, whose output model is ``output``.

        Raises:
            KeyError: no operation declares a tool of the declaration's name.
            TypeError: the declaration is annotated to return neither ``None`` nor
                ``Call``, or ``output`` names no ``ANSWER`` field and keeps
                :meth:`Served.of <memoryd.mcp.models.Served.of>`, which needs one.
        """
        if not hasattr(output, "ANSWER") and output.of.__func__ is Served.of.__func__:  # type: ignore[attr-defined]
            raise TypeError(f"{output.__name__}: set ANSWER or override of()")
        return self._adder(lambda response: output, {})

    def answer(
        self,
        name: str,
        field: str,
        doc: str,
        *,
        cut: Cut | None = None,
        rename: Mapping[str, str] | None = None,
    ) -> Callable[[Declaration], Declaration]:
        """A decorator that adds the declared tool; its output holds the operation's answer.

        ``name``, ``field``, ``doc`` and ``cut`` are the output model's
        (:func:`~memoryd.mcp.models.answer_model`); ``rename`` maps a tool argument's
        name to the operation's where they differ. Raises as calling the maker does.
        """
        return self._adder(
            lambda response: answer_model(name, field, doc, response, cut=cut), rename or {}
        )

    def _adder(
        self, output: Callable[[Any], type[Served]], rename: Mapping[str, str]
    ) -> Callable[[Declaration], Declaration]:
        def add(declaration: Declaration) -> Declaration:
            name = declaration.__name__
            op = tool_operation(name)
            model = output(op.response)
            signature = inspect.signature(declaration, eval_str=True)
            optional = {p.name for p in signature.parameters.values() if p.default is None}
            passes = signature.return_annotation is None  # no body: the arguments pass through
            if not passes and signature.return_annotation is not Call:
                raise TypeError(f"{name}: a tool declaration returns None or Call")

            async def run(**arguments: Any) -> CallToolResult:
                if passes:
                    args: tuple[Any, ...] = ()
                    kwargs = {
                        rename.get(key, key): value
                        for key, value in arguments.items()
                        if value is not None or key not in optional
                    }
                else:
                    call = cast(Call, declaration(**arguments))
                    args, kwargs = call.args, call.kwargs
                try:
                    routed = await self._backend.call(op.name, *args, **kwargs)
                except MemorydError as exc:
                    return error_result(exc)
                return ok_result(model.of(routed, arguments), compact=self._compact)

            returns = Annotated[CallToolResult, model]
            run.__name__ = run.__qualname__ = name
            run.__doc__ = declaration.__doc__
            published = signature.replace(return_annotation=returns)
            run.__signature__ = published  # type: ignore[attr-defined]
            run.__annotations__ = {
                **{p.name: p.annotation for p in signature.parameters.values()},
                "return": returns,
            }
            self._server.add_tool(run, name=name, annotations=ToolAnnotations(**op.annotations))
            return declaration

        return add

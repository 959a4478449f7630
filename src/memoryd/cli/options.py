"""CLI options taken from the request models, and commands taken from the registry.

``option(Model, "field", "--flag")`` is a typer Option that mirrors a request
model's field (or, for arguments no model carries, a library method's
parameter): its default, its ``Literal`` values as choices (a union of
models: their discriminator's values), its description as help unless the
command gives a text for people, and its numeric bounds at the end of that
help. The engine checks the bounds, so a value out of range fails with the
engine's ``validation_error`` on every face. Typer cannot parse lists of
``Literal`` values, so choices are text checked by a parser, with typer's own
help (``<a|b>``, ``<list[a|b]>``) and error (``usage_error``).
:func:`plain_command` declares a command that only hands its options to the
registry's operation for it and renders the result.
``tests/cli/test_cli_options.py`` holds every option to its field.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from inspect import Parameter
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from typer.models import OptionInfo

from memoryd.cli.app import app, run
from memoryd.operations import OPERATIONS
from memoryd.types import MemoryInput

__all__ = [
    "NAMESPACE",
    "Mirror",
    "bounds_text",
    "choices_of",
    "deleted",
    "mirror_of",
    "option",
    "plain_command",
]

#: What an option mirrors: a request model, or a library method (its parameters).
_Source = type[BaseModel] | Callable[..., Any]

_FROM_SOURCE: Any = object()
_SEQUENCES = (list, tuple, Sequence)


@dataclass(frozen=True)
class Mirror:
    """The field an option mirrors and what the option took from it.

    ``default`` is the option's (``...``: required); ``choices`` the accepted
    values (empty: any text); ``bounds`` the range its help states ("" if
    none); ``annotation`` the type typer parses the option as.
    """

    source: _Source
    name: str
    default: Any
    choices: tuple[str, ...]
    bounds: str
    annotation: Any


_MIRRORS: dict[int, tuple[Any, Mirror]] = {}


def _field(source: _Source, name: str) -> tuple[Any, Any, FieldInfo | None]:
    """``(annotation, default, field)`` of ``source``'s ``name`` (default ``...``: required)."""
    if isinstance(source, type) and issubclass(source, BaseModel):
        field = source.model_fields[name]
        if field.is_required():
            return field.annotation, ..., field
        # A list's empty default_factory is typer's "not given" (None).
        return field.annotation, None if field.default_factory else field.default, field
    parameter = inspect.signature(source).parameters[name]
    default = ... if parameter.default is inspect.Parameter.empty else parameter.default
    return typing.get_type_hints(source)[name], default, None


def _members(annotation: Any) -> tuple[list[Any], bool]:
    """The types ``annotation`` admits (unions, sequences unwrapped) and whether it is a list."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        parts = [_members(arg) for arg in get_args(annotation)]
        return [m for members, _ in parts for m in members], any(many for _, many in parts)
    if origin in _SEQUENCES:
        return _members(get_args(annotation)[0])[0], True
    if origin is typing.Annotated:
        return _members(get_args(annotation)[0])
    return [annotation], False


def choices_of(annotation: Any, discriminator: str | None = None) -> tuple[str, ...]:
    """The ``Literal`` values ``annotation`` admits (through unions and sequences), else ``()``.

    A model in a union contributes the values of its ``discriminator`` field.
    """
    values: list[str] = []
    for member in _members(annotation)[0]:
        if get_origin(member) is Literal:
            values.extend(str(value) for value in get_args(member))
        elif discriminator and isinstance(member, type) and issubclass(member, BaseModel):
            values.extend(choices_of(member.model_fields[discriminator].annotation))
    return tuple(dict.fromkeys(values))


def _number(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_LOW = {annotated_types.Ge: ("ge", "<="), annotated_types.Gt: ("gt", "<")}
_HIGH = {annotated_types.Le: ("le", "<="), annotated_types.Lt: ("lt", "<")}


def bounds_text(field: FieldInfo | None) -> str:
    """A field's numeric bounds for people: ``"0..1"``, ``"0 < x <= 10"``, ``"0 < x"``, ``""``."""
    low = high = ""
    for item in field.metadata if field is not None else ():
        if type(item) in _LOW:
            attr, sign = _LOW[type(item)]
            low = f"{_number(getattr(item, attr))} {sign} "
        elif type(item) in _HIGH:
            attr, sign = _HIGH[type(item)]
            high = f" {sign} {_number(getattr(item, attr))}"
    if low.endswith("<= ") and high.startswith(" <="):
        return f"{low[:-4]}..{high[4:]}"
    return f"{low}x{high}" if low or high else ""


def _choice_parser(values: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in values:
            listed = ", ".join(repr(v) for v in values)
            raise ValueError(f"{value!r} is not one of {listed}.")
        return value

    return parse


def option(
    source: _Source,
    name: str,
    *flags: str,
    help: str | None = None,
    default: Any = _FROM_SOURCE,
) -> Any:
    """A typer Option mirroring ``source``'s field (or parameter) ``name``.

    Args:
        source: a request model (``SearchParams``), or a library method
            (``Client.list``) for arguments that no model carries.
        name: the field or parameter.
        flags: the option's names (``"--limit", "-l"``, ``"--steps/--no-steps"``).
        help: text for people; default the field's description.
        default: only for a required field (a filter's ``None`` = any, a
            step's usual status); otherwise the field's own default is used.

    Raises:
        TypeError: no help (neither given nor described), or a ``default``
            given for a field that has a default of its own.
        KeyError: ``source`` has no field or parameter ``name``.
    """
    annotation, own_default, field = _field(source, name)
    if default is not _FROM_SOURCE and own_default is not ...:
        raise TypeError(f"{name}: the CLI takes its default from {source!r}")
    chosen = own_default if default is _FROM_SOURCE else default
    text = help or (field.description if field is not None else None)
    if not text:
        raise TypeError(f"{name}: give help= (the field has no description)")
    discriminator = field.discriminator if field is not None else None
    choices = choices_of(annotation, discriminator if isinstance(discriminator, str) else None)
    bounds = bounds_text(field)
    if bounds:
        text = f"{text.rstrip('.')} ({bounds})."
    members, repeated = _members(annotation)
    # Typer parses numbers, flags and text; the rest (choices, ids) is checked as text.
    typed = annotation if set(members) <= {int, float, bool, str, type(None)} else str
    typed = list[str] | None if repeated else typed | None if chosen is None else typed
    extra: dict[str, Any] = {}
    if choices:
        label = "|".join(choices)
        metavar = f"<list[{label}]>" if repeated else f"<{label}>"
        extra = {"parser": _choice_parser(choices), "metavar": metavar}
    info = typer.Option(chosen, *flags, help=text, **extra)
    _MIRRORS[id(info)] = (info, Mirror(source, name, chosen, choices, bounds, typed))
    return info


def mirror_of(info: object) -> Mirror | None:
    """The :class:`Mirror` of an option made by :func:`option`, else ``None``."""
    entry = _MIRRORS.get(id(info))
    return entry[1] if entry is not None and entry[0] is info else None


def plain_command(
    path: str,
    help: str,
    *,
    table: Callable[[Any], Any] | None = None,
    shown: Callable[[Any, dict[str, Any]], Any] | None = None,
    **params: Any,
) -> None:
    """Declare ``memoryd <path>``: its operation called with ``params``, the result rendered.

    The operation is the one the registry declares for ``path``
    (``Operation.cli``). ``params`` maps each argument of its library method
    to the CLI's form of it: an option made by :func:`option`, or an
    ``Annotated[type, typer.Argument(...)]`` for a positional argument; they
    become the command's parameters in this order. ``shown(result,
    arguments)`` is what is printed (default: the result); ``table`` builds
    its table-mode layout (as in :func:`memoryd.cli.app.run`).

    Raises:
        KeyError: the registry declares no operation for ``path``.
    """
    operation = next((op.name for op in OPERATIONS if op.cli == path), None)
    if operation is None:
        raise KeyError(f"the registry declares no operation for `memoryd {path}`")
    *group, name = path.split(" ")
    keyword = Parameter.KEYWORD_ONLY
    parameters = [Parameter("ctx", keyword, annotation=typer.Context)]
    for key, value in params.items():
        mirror = mirror_of(value)
        if mirror is not None:
            parameters.append(Parameter(key, keyword, default=value, annotation=mirror.annotation))
        elif any(isinstance(info, OptionInfo) for info in get_args(value)[1:]):
            parameters.append(Parameter(key, keyword, default=None, annotation=value))
        else:
            parameters.append(Parameter(key, keyword, annotation=value))

    def command(ctx: typer.Context, **arguments: Any) -> None:
        def call(engine: Any) -> Any:
            result = getattr(engine, operation)(**arguments)
            return result if shown is None else shown(result, arguments)

        run(ctx, call, table=table)

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = help
    owner = app
    for info in app.registered_groups:
        if group == [info.name] and info.typer_instance is not None:
            owner = info.typer_instance
    owner.command(name)(command)


def deleted(key: str) -> Callable[[Any, dict[str, Any]], dict[str, str]]:
    """``shown`` of a delete command: ``{"deleted": <argument key>, "namespace": ...}``."""
    return lambda _, arguments: {"deleted": arguments[key], "namespace": arguments["namespace"]}


#: ``--namespace``/``-n`` of every command on one namespace.
NAMESPACE: Any = option(
    MemoryInput, "namespace", "--namespace", "-n", help="Namespace (tenant/scope)."
)

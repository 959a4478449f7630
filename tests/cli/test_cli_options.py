"""The CLI's options are the request models' fields: same default, choices and bounds.

Each option made by :func:`memoryd.cli.options.option` is checked against
the field (or library parameter) it names, on the click parameter typer
built: its default, that it accepts exactly the field's ``Literal`` values,
and that its help states the field's bounds. Every option of a registry
command is either such a mirror or listed in :data:`HAND_WRITTEN` with why.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer.main import get_command

from memoryd.cli.main import app
from memoryd.cli.options import Mirror, bounds_text, choices_of, mirror_of
from memoryd.learning.models import FeedbackInput, StepInput
from memoryd.operations import OPERATIONS
from memoryd.operations.learning_bodies import CompleteBody
from memoryd.types import KINDS, MemoryInput, SearchParams

#: Options of registry commands that no model field carries, and why.
HAND_WRITTEN = {
    ("add", "meta"): "key=value pairs parsed into the metadata object",
    ("search", "filter"): "a JSON text parsed into the Filter tree",
    ("forget", "namespace"): "the scope to erase: no default namespace",
    ("forget", "user"): "the scope to erase",
    ("forget", "agent"): "the scope to erase",
    ("forget", "yes"): "the confirmation prompt",
    ("import", "file_format"): "the file's format, not a field",
    ("import", "namespace"): "jsonl: the records' namespace; locomo: a prefix",
    ("export", "namespace"): "None exports every namespace",
    ("storage verify", "as_json"): "an output switch",
    ("episode create", "meta"): "key=value pairs parsed into the metadata object",
    ("episode log-step", "param"): "key=value pairs parsed into the parameters object",
    ("episode complete", "verdict"): "the verdict of a success or a partial outcome",
    ("episode complete", "reason"): "the reason of a failure or an abstention",
}


def _commands() -> Iterator[tuple[str, Any]]:
    """``(command path, click command)`` of every command (groups included)."""

    def walk(group: Any, prefix: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        for name, command in getattr(group, "commands", {}).items():
            yield " ".join((*prefix, name)), command
            yield from walk(command, (*prefix, name))

    yield from walk(get_command(app), ())


def _options() -> Iterator[tuple[str, Any, Any]]:
    """``(command path, click option, default in the signature)`` of every command."""
    for path, command in _commands():
        callback = getattr(command.callback, "__wrapped__", None)
        if callback is None:
            continue
        defaults = inspect.signature(callback).parameters
        for param in command.params:
            if param.param_type_name == "option" and param.name in defaults:
                yield path, param, defaults[param.name].default


OPTIONS = list(_options())
MIRRORED = [(path, param, mirror_of(d)) for path, param, d in OPTIONS if mirror_of(d)]


def _source_default(mirror: Mirror) -> Any:
    """The default the model or signature gives (``...``: none)."""
    if isinstance(mirror.source, type) and issubclass(mirror.source, BaseModel):
        field = mirror.source.model_fields[mirror.name]
        return ... if field.is_required() else field.get_default(call_default_factory=True)
    default = inspect.signature(mirror.source).parameters[mirror.name].default
    return ... if default is inspect.Parameter.empty else default


def test_choices_and_bounds_are_read_from_the_fields() -> None:
    assert choices_of(MemoryInput.model_fields["kind"].annotation) == KINDS
    assert choices_of(SearchParams.model_fields["kinds"].annotation) == KINDS
    outcome = CompleteBody.model_fields["outcome"]
    assert choices_of(outcome.annotation, "type") == ("success", "partial", "failure", "abstained")
    assert choices_of(MemoryInput.model_fields["content"].annotation) == ()
    assert bounds_text(MemoryInput.model_fields["importance"]) == "0..1"
    assert bounds_text(MemoryInput.model_fields["ttl_seconds"]) == "0 < x <= 3155760000"
    assert bounds_text(SearchParams.model_fields["recency_half_life_days"]) == "0 < x"
    assert bounds_text(FeedbackInput.model_fields["reward"]) == "-10..10"
    assert bounds_text(StepInput.model_fields["tokens"]) == "0..1000000000"
    assert bounds_text(MemoryInput.model_fields["content"]) == ""


def test_options_are_found() -> None:
    assert len(MIRRORED) > 40
    flags = {(path, param.opts[0]) for path, param, _ in MIRRORED}
    assert {
        ("add", "--importance"),
        ("search", "--kind"),
        ("episode complete", "--outcome"),
    } <= flags


@pytest.mark.parametrize(
    ("path", "param", "mirror"), MIRRORED, ids=[f"{p} {o.opts[0]}" for p, o, _ in MIRRORED]
)
def test_option_mirrors_its_field(path: str, param: Any, mirror: Mirror) -> None:
    own = _source_default(mirror)
    # Only a field without a default lets the command choose one (a filter's None = any).
    expected = mirror.default if own is ... else own
    actual = ... if param.required else param.default
    if param.multiple:  # a list field's empty default is typer's "not given"
        assert actual in (None, []) and expected in (None, [])
    else:
        assert actual == expected, f"{path} {param.opts[0]}: default {actual!r} != {expected!r}"

    ctx = Context(get_command(app))
    for value in mirror.choices:
        given = [value] if param.multiple else value
        assert param.process_value(ctx, given) == given
    if mirror.choices:
        with pytest.raises(BadParameter):
            param.process_value(ctx, ["no-such-choice"] if param.multiple else "no-such-choice")
    if mirror.bounds:
        assert f"({mirror.bounds})" in param.help


def test_every_option_of_a_registry_command_is_a_mirror_or_hand_written() -> None:
    commands = {op.cli for op in OPERATIONS if op.cli is not None}
    loose = {
        (path, param.name)
        for path, param, default in OPTIONS
        if path in commands and mirror_of(default) is None
    }
    assert loose == set(HAND_WRITTEN)


def test_plain_commands_pass_arguments_the_library_takes() -> None:
    """A plain command's parameters are its method's (or, for ``**params``, its body's)."""
    from memoryd.client import Client

    operations = {op.cli: op for op in OPERATIONS if op.cli is not None}
    plain = 0
    for path, command in _commands():
        callback = getattr(command.callback, "__wrapped__", None)
        if getattr(callback, "__module__", None) != "memoryd.cli.options":
            continue
        plain += 1
        op = operations[path]
        takes = set(inspect.signature(getattr(Client, op.name)).parameters)
        if op.rest is not None and op.rest.body is not None:
            takes |= set(op.rest.body.model_fields)
        given = set(inspect.signature(callback).parameters) - {"ctx"}
        assert given <= takes, f"{path}: {given - takes} not taken by {op.name}"
    assert plain >= 15

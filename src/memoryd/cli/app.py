"""The ``memoryd`` Typer application, its global options and its error handling.

Global options (before the command): ``--data-dir``, ``--format
table|json|yaml``, ``--url``/``--token`` (daemon), ``--local`` (never use a
daemon). Errors print one line ``error[code]: message`` on stderr and exit
2 for usage, validation and configuration errors (a bad config file or
setting), 1 otherwise (``_exit_status``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

# Typer >= 0.20 vendors click as ``typer._click``; its exceptions are not re-exported.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from memoryd.cli.backend import CommandBackend, open_backend
from memoryd.cli.render import OutputFormat, render
from memoryd.config import Settings, load_settings
from memoryd.errors import AlreadyRunning, ConfigError, MemorydError, PortInUse, ValidationError

__all__ = [
    "CLIState",
    "DataDirOption",
    "MemorydGroup",
    "app",
    "command_group",
    "fail",
    "id_argument",
    "run",
    "state_of",
]

T = TypeVar("T")


_PYDANTIC_URL = re.compile(r"For further information visit \S+")


def fail(code: str, message: str, exit_code: int) -> NoReturn:
    """Print ``error[code]: message`` (one line) on stderr and exit with ``exit_code``."""
    one_line = " ".join(_PYDANTIC_URL.sub("", str(message)).split())
    sys.stderr.write(f"error[{code}]: {one_line}\n")
    sys.stderr.flush()
    sys.exit(exit_code)


def _exit_status(exc: MemorydError) -> int:
    """2 for bad input or configuration (``ValidationError``, ``ConfigError``), else 1.

    ``AlreadyRunning`` and ``PortInUse`` are ``ConfigError`` subclasses but say
    that another process holds the store or the port: 1.
    """
    if isinstance(exc, AlreadyRunning | PortInUse):
        return 1
    return 2 if isinstance(exc, ValidationError | ConfigError) else 1


class MemorydGroup(TyperGroup):
    """Root command group: turns every failure into one ``error[code]: ...`` line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except MemorydError as exc:
            fail(exc.code, exc.message, _exit_status(exc))
        except UsageError as exc:
            fail("usage_error", exc.format_message(), exc.exit_code)
        except ClickException as exc:
            fail("error", exc.format_message(), exc.exit_code)
        except typer.Abort:
            fail("aborted", "aborted", 1)
        except OSError as exc:
            fail("io_error", str(exc), 1)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


@dataclass
class CLIState:
    """Global options, shared by every command through ``ctx.obj``."""

    output: OutputFormat = OutputFormat.table
    data_dir: Path | None = None
    url: str | None = None
    token: str | None = None
    local: bool = False

    def settings(self, data_dir: Path | None = None, **overrides: Any) -> Settings:
        """Settings from env/TOML with ``--data-dir`` and ``overrides`` applied.

        ``data_dir`` (a command's own ``--data-dir``) wins over the global
        option when given; ``None`` values in ``overrides`` are not applied
        (:func:`memoryd.config.load_settings`).

        Raises:
            ConfigError: invalid values or an unsafe config file.
        """
        chosen = data_dir if data_dir is not None else self.data_dir
        return load_settings(**{**overrides, "data_dir": chosen})

    def backend(self) -> CommandBackend:
        """The daemon's client if one answers, else the store in-process; ``with`` closes it."""
        return open_backend(self.settings(), url=self.url, token=self.token, local=self.local)


def state_of(ctx: typer.Context) -> CLIState:
    """The :class:`CLIState` of the root command."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, CLIState) else CLIState()


def run(
    ctx: typer.Context,
    call: Callable[[CommandBackend], T],
    *,
    table: Callable[[T], Any] | None = None,
) -> None:
    """Run one command: open its backend, ``call`` it, close it, then print the result.

    The result is rendered in the ``--format`` of ``ctx`` after the backend is
    closed; ``table`` builds the table-mode layout from it (default: the
    generic layout of :func:`memoryd.cli.render.render`). Errors of ``call``
    propagate (the root group prints them).
    """
    state = state_of(ctx)
    with state.backend() as engine:
        result = call(engine)
    render(result, state.output, table=None if table is None else table(result))


def id_argument(what: str) -> Any:
    """The positional ``id`` argument of commands on one ``what`` (entry, episode, pattern)."""
    return typer.Argument(help=f"The {what}'s id (UUID).")


#: A command's own ``--data-dir`` (wins over the global one; see :meth:`CLIState.settings`).
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Store folder (Settings.data_dir).")
]


app = typer.Typer(
    cls=MemorydGroup,
    name="memoryd",
    help="memoryd: local-first memory for AI agents (store, search, serve, evaluate).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def command_group(name: str, help: str) -> typer.Typer:
    """A group of sub-commands ``memoryd <name> ...`` (bare: its help), added to :data:`app`."""
    group = typer.Typer(name=name, help=help, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(group, name=name)
    return group


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Store folder (Settings.data_dir; env MEMORYD_DATA_DIR)."),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="Result format on stdout.", case_sensitive=False),
    ] = OutputFormat.table,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="MEMORYD_URL",
            help="Daemon URL; it must answer (default: probe Settings.base_url, else in-process).",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar="MEMORYD_TOKEN", help="Daemon bearer token (default: token file)."
        ),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Never contact a daemon; open the store in-process.")
    ] = False,
) -> None:
    """memoryd: local-first memory for AI agents (store, search, serve, evaluate)."""
    ctx.obj = CLIState(output=output, data_dir=data_dir, url=url, token=token, local=local)

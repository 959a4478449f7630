"""Progress bars on stderr (rich) for long commands: import and eval."""

from __future__ import annotations

from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from memoryd.cli.render import stderr_console

__all__ = ["ProgressBar"]


class ProgressBar:
    """A :class:`~memoryd.eval.harness.ProgressSink` drawing one bar per stage on stderr.

    Bars are drawn only when stderr is a terminal, so logs and pipes stay clean.
    Use as a context manager::

        with ProgressBar() as bar:
            bar.stage("import", total=100)
            bar.advance(10)
    """

    def __init__(self) -> None:
        console = stderr_console()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def stage(self, name: str, total: int | None) -> None:
        """Start a new bar named ``name`` for ``total`` units (``None``: unknown, no end shown)."""
        self._task = self._progress.add_task(name, total=total)

    def advance(self, amount: int = 1) -> None:
        """Move the current bar by ``amount`` units."""
        if self._task is not None:
            self._progress.advance(self._task, amount)

"""The operation registry: every operation of memoryd declared once, for every face.

* :mod:`~memoryd.operations.spec`: what an operation is (:class:`Operation`,
  :class:`Rest`, :class:`Effect`, :class:`Face`).
* :mod:`~memoryd.operations.catalog`: the declarations (:data:`OPERATIONS`),
  the daemon's own routes (:data:`DAEMON_ROUTES`) and the CLI's process
  commands (:data:`PROCESS_COMMANDS`) and views (:data:`CLI_VIEWS`).
* :mod:`~memoryd.operations.bodies`, :mod:`~memoryd.operations.learning_bodies`:
  the request and response bodies only the REST face has.

``docs/ARCHITECTURE.md`` ("Operations") says how to add one.
"""

from memoryd.operations.catalog import (
    CLI_VIEWS,
    DAEMON_ROUTES,
    OPERATIONS,
    PROCESS_COMMANDS,
    operation,
    tool_operation,
)
from memoryd.operations.spec import Effect, Face, Operation, Rest

__all__ = [
    "CLI_VIEWS",
    "DAEMON_ROUTES",
    "OPERATIONS",
    "PROCESS_COMMANDS",
    "Effect",
    "Face",
    "Operation",
    "Rest",
    "operation",
    "tool_operation",
]

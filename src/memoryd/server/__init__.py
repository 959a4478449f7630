"""The HTTP face of memoryd: a FastAPI app over :class:`memoryd.Memory`.

* :func:`create_app` builds the ASGI app (REST under ``/v1``, ``/healthz``,
  ``/readyz``, ``/metrics``) with the token, Host/Origin and body-limit layers.
* :func:`run` serves it with uvicorn on ``settings.host:settings.port``
  (loopback by default) until SIGTERM/SIGINT, then drains and checkpoints.

``python -m memoryd.server [--data-dir D] [--host H] [--port P]`` runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memoryd.server.app import create_app
    from memoryd.server.runner import run

__all__ = ["create_app", "run"]


def __getattr__(name: str) -> Any:
    """``create_app`` and ``run``, imported on first use: ``python -m memoryd.server``
    takes the instance lock and starts opening the store before FastAPI loads."""
    if name == "create_app":
        from memoryd.server.app import create_app

        return create_app
    if name == "run":
        from memoryd.server.runner import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

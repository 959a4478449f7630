"""The HTTP face of memoryd: a FastAPI app over :class:`memoryd.Memory`.

* :func:`create_app` builds the ASGI app (REST under ``/v1``, ``/healthz``,
  ``/readyz``, ``/metrics``) with the token, Host/Origin and body-limit layers.
* :func:`run` serves it with uvicorn on ``settings.host:settings.port``
  (loopback by default) until SIGTERM/SIGINT, then drains and checkpoints.

``python -m memoryd.server [--data-dir D] [--host H] [--port P]`` runs it.
"""

from memoryd.server.app import create_app
from memoryd.server.runner import run

__all__ = ["create_app", "run"]

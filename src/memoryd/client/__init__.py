"""``memoryd.Client``: the :class:`~memoryd.Memory` interface over the daemon's REST API.

Example::

    from memoryd import Client
    with Client() as memory:                       # base URL and token from Settings
        entry = memory.add("Ann prefers tea", tags=["prefs"])
        hits = memory.search("what does Ann drink?").hits

Same methods, arguments and return types as ``Memory``; errors are rebuilt from
the wire ``code`` with :func:`memoryd.errors.error_from_code`, so callers catch
the same classes. A refused or reset connection raises ``BackendUnavailable``,
an elapsed timeout ``Timeout``. One keep-alive connection pool per client;
thread-safe.

With ``lifecycle=True`` the client finds the daemon of ``settings.data_dir``
itself, starts one when none runs (``settings.auto_start``) and serves a call
in-process when the daemon fails (``settings.fallback_local``); see
:mod:`memoryd.client.routing`. ``client.served_by`` and ``client.degraded``
say how this thread's last call was served::

    with Client(lifecycle=True) as memory:
        memory.search("tea")
        memory.served_by          # "daemon" or "local"

The class is built from parts: its operations are generated from the registry
(``client/operations.py``, ``scripts/generate_client.py``); the requests they
send are built in ``client/requests.py`` (from the registry) and
``client/custom_requests.py`` (by hand); transport, routing and lifecycle are
``client/base.py``, ``client/transport.py`` and ``client/routing.py``.
"""

from __future__ import annotations

from memoryd.client.base import NOT_ROUTED, ROUTED_METHODS
from memoryd.client.operations import Client
from memoryd.client.routing import Routed, ServedBy

__all__ = ["NOT_ROUTED", "ROUTED_METHODS", "Client", "Routed", "ServedBy"]

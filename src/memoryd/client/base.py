"""What :class:`memoryd.Client` is besides its operations: transport, routing, lifecycle.

The operations themselves are generated (``client/operations.py``, from the
registry and ``Memory``'s signatures); each calls :meth:`ClientBase._call`,
which sends the request (:func:`memoryd.client.requests.send`) directly or,
with ``lifecycle=True``, through the :class:`~memoryd.client.routing.Router`
(daemon, restart, in-process fallback).
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, Self

from memoryd.client.custom_requests import send
from memoryd.client.routing import Routed, Router, ServedBy
from memoryd.client.transport import Transport
from memoryd.config import Settings, load_settings
from memoryd.errors import MemorydError, ValidationError
from memoryd.lifecycle.identity import require_same_store
from memoryd.operations import OPERATIONS, Face

__all__ = ["NOT_ROUTED", "ROUTED_METHODS", "ClientBase"]

#: Client operations that always need the daemon (no in-process fallback), and why.
NOT_ROUTED = {
    "export": "streams the daemon's store; a fallback would read another process's file",
    "import_entries": "streams into the daemon's store",
    "verify_storage": "verifies the file the daemon has open",
}
#: Methods that follow the lifecycle (daemon, restart, in-process fallback).
ROUTED_METHODS: tuple[str, ...] = tuple(
    op.name for op in OPERATIONS if op.serves(Face.CLIENT) and op.name not in NOT_ROUTED
)


class ClientBase:
    """HTTP client for a running memoryd daemon, with the methods of :class:`memoryd.Memory`.

    Same methods, arguments and return types as ``Memory`` (each method's full
    documentation is its ``Memory`` namesake's); errors are rebuilt
    from the wire ``code`` (:func:`memoryd.errors.error_from_code`), so callers
    catch the same classes. A refused or reset connection raises
    ``BackendUnavailable``, an elapsed timeout ``Timeout``. One keep-alive
    connection pool per client; thread-safe.

    Args:
        settings: where the daemon is (``base_url``), its token file
            (``resolved_token_file``), ``client_timeout_s`` (seconds) and
            ``max_body_bytes`` (bytes); loaded from env/TOML and ``**overrides`` if omitted.
        base_url: e.g. ``"http://127.0.0.1:7077"`` (overrides ``settings``).
        token: the bearer token (default: read from the token file on first call).
        timeout_s: per-request timeout in seconds (default ``settings.client_timeout_s``).
        lifecycle: find the daemon of ``settings.data_dir`` (``daemon.json``), start it
            when allowed and fall back to an in-process engine (per-call timeout
            ``settings.daemon_timeout_s`` unless ``timeout_s`` is given). Only a daemon
            that serves the store of ``data_dir`` is used (:mod:`memoryd.lifecycle.identity`).
        verify_store: with ``base_url``, check once before the first request that the
            daemon serves the store of ``settings.data_dir`` (when ``data_dir`` was set
            explicitly and holds a store); ``StoreMismatch`` if not.

    Raises:
        ValidationError: ``lifecycle=True`` together with ``base_url``.

    Example: ``Client(base_url="http://127.0.0.1:7077", token="...", timeout_s=5.0)``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout_s: float | None = None,
        lifecycle: bool = False,
        verify_store: bool = True,
        **overrides: Any,
    ) -> None:
        if lifecycle and base_url is not None:
            raise ValidationError("lifecycle=True finds the daemon itself: omit base_url")
        self.settings = settings or load_settings(**overrides)
        self._t = Transport(self.settings, base_url=base_url, token=token, timeout_s=timeout_s)
        self.base_url = self._t.base_url
        self._router: Router | None = None
        self._served = threading.local()
        self._store_lock = threading.Lock()
        if verify_store and not lifecycle:  # the router verifies what it finds
            self._t.before_send = self._check_store
        if lifecycle:
            if timeout_s is None:
                self._t.timeout_s = self.settings.daemon_timeout_s
            self._router = Router(self.settings, retarget=self._retarget)

    def _check_store(self) -> None:
        """Once, before the first request: the daemon must serve the named store."""
        with self._store_lock:
            if self._t.before_send is None:
                return
            require_same_store(
                self.settings, self._t.base_url, self._t.token(), timeout_s=self._t.timeout_s
            )
            self._t.before_send = None

    def _retarget(self, base_url: str) -> None:
        self._t.retarget(base_url)
        self.base_url = self._t.base_url

    # --- how calls are served -------------------------------------------------
    def _route(self, name: str, args: dict[str, Any]) -> Routed[Any]:
        def over_http() -> Any:
            return send(self._t, name, args)

        if self._router is None or name in NOT_ROUTED:
            return Routed(over_http(), "daemon")
        return self._router.call(name, over_http, **args)

    def _call(self, name: str, args: dict[str, Any], spread: str | None = None) -> Any:
        """Operation ``name`` with a generated method's ``locals()`` as its arguments.

        ``self`` is dropped; ``spread`` names the method's ``**`` parameter, whose
        items join the others (see :meth:`routed` for how the call is served).
        """
        args = {key: value for key, value in args.items() if key != "self"}
        if spread is not None:
            args |= args.pop(spread)
        if self._router is None or name in NOT_ROUTED:
            return send(self._t, name, args)
        routed = self._route(name, args)
        self._served.last = routed
        return routed.value

    def routed(self, name: str, *args: Any, **kwargs: Any) -> Routed[Any]:
        """Call method ``name`` and return its value with how it was served.

        Raises:
            ValidationError: ``name`` is not one of :data:`ROUTED_METHODS`.
            TypeError: the arguments do not fit the method's signature.
            MemorydError: whatever the method raises.
        """
        if name not in ROUTED_METHODS:
            raise ValidationError(f"unknown method {name!r}", method=name)
        signature = inspect.signature(getattr(type(self), name))
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()  # every argument, as the generated method passes them
        given: dict[str, Any] = {}
        for key, value in list(bound.arguments.items())[1:]:
            if signature.parameters[key].kind is inspect.Parameter.VAR_KEYWORD:
                given.update(value)
            else:
                given[key] = value
        routed = self._route(name, given)
        self._served.last = routed
        return routed

    @property
    def served_by(self) -> ServedBy | None:
        """How this thread's last call was served: ``"daemon"``, ``"local"`` or ``None``."""
        routed: Routed[Any] | None = getattr(self._served, "last", None)
        return routed.served_by if routed is not None else None

    @property
    def degraded(self) -> bool:
        """True if this thread's last call could not be served by the daemon."""
        routed: Routed[Any] | None = getattr(self._served, "last", None)
        return routed.degraded if routed is not None else False

    @property
    def last_route(self) -> Routed[Any] | None:
        """The full routing record of this thread's last call (value, path, reason)."""
        return getattr(self._served, "last", None)

    # --- lifecycle ----------------------------------------------------------
    @property
    def ready(self) -> bool:
        """True when the daemon answers ``/readyz`` with 200."""
        try:
            self._t.request("GET", "/readyz")
        except MemorydError:
            return False
        return True

    def close(self) -> None:
        """Close the connection pool and a fallback engine, if any (idempotent)."""
        self._t.close()
        if self._router is not None:
            self._router.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

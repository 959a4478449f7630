"""Prometheus metrics and one structured log line per request.

Metrics live in a registry per app (two apps in one process never clash):

* ``memoryd_requests_total{method, route, status}`` — counter.
* ``memoryd_request_duration_seconds{method, route}`` — histogram, seconds.
* ``memoryd_search_duration_seconds{mode}`` — histogram of engine search time, seconds.

``route`` is the route template (``/v1/memories/{id}``), never the raw path,
so label cardinality stays bounded; unmatched paths count as ``"<unmatched>"``.

The log line (logger ``memoryd.server.access``, level info) carries
``method``, ``path``, ``status`` and ``ms`` (milliseconds). It never carries
headers, query strings or bodies, so the token cannot leak through it.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memoryd.server.activity import Activity

__all__ = ["AccessMiddleware", "Metrics"]

access_log = logging.getLogger("memoryd.server.access")
_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The daemon's Prometheus collectors, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "memoryd_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "memoryd_request_duration_seconds",
            "HTTP request duration in seconds, by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS_S,
            registry=self.registry,
        )
        self.search_latency = Histogram(
            "memoryd_search_duration_seconds",
            "Engine search time in seconds (SearchResult.took_ms), by mode.",
            ["mode"],
            buckets=_BUCKETS_S,
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every collector."""
        return bytes(generate_latest(self.registry))


class AccessMiddleware:
    """Pure ASGI middleware: count, time, log and track (idle stop) every HTTP request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, activity: Activity) -> None:
        self.app = app
        self.metrics = metrics
        self.activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"cache-control", b"no-store"))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        self.activity.begin()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.activity.end()
            elapsed = time.perf_counter() - start
            method = str(scope.get("method", ""))
            route = str(getattr(scope.get("route"), "path", None) or "<unmatched>")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "method": method,
                    "path": scope.get("path", ""),
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )

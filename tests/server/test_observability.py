"""Stats with uptime, Prometheus metrics, one log line per request, no secrets in logs."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from starlette.testclient import TestClient

from memoryd.logs import REDACTED, configure_logging


def test_stats_include_uptime(http: TestClient) -> None:
    http.post("/v1/memories", json={"content": "counted"})
    stats = http.get("/v1/stats").json()
    assert stats["total"] == 1 and stats["by_kind"] == {"memory": 1}
    assert stats["uptime_s"] >= 0 and stats["dim"] == 384


def test_metrics_count_requests_by_route_template(http: TestClient) -> None:
    entry = http.post("/v1/memories", json={"content": "measured"}).json()
    http.get(f"/v1/memories/{entry['id']}")
    http.get("/v1/memories/00000000-0000-4000-8000-000000000000")
    http.post("/v1/search", json={"query": "measured", "mode": "keyword"})
    text = http.get("/metrics").text
    assert 'memoryd_requests_total{method="POST",route="/v1/memories",status="201"} 1.0' in text
    assert 'route="/v1/memories/{id}",status="200"} 1.0' in text
    assert 'route="/v1/memories/{id}",status="404"} 1.0' in text
    assert 'memoryd_search_duration_seconds_count{mode="keyword"} 1.0' in text
    assert "memoryd_request_duration_seconds_bucket" in text
    assert entry["id"] not in text  # raw paths never become labels


def test_one_log_line_per_request(
    http: TestClient, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="memoryd.server.access"):
        http.get("/v1/stats")
        http.get("/v1/stats", headers={"authorization": "Bearer wrong"})
        http.get("/v1/memories", params={"namespace": "secret-ns"})
    lines = [r for r in caplog.records if r.name == "memoryd.server.access"]
    assert [(r.method, r.path, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("GET", "/v1/stats", 200),
        ("GET", "/v1/stats", 401),
        ("GET", "/v1/memories", 200),
    ]
    assert all(r.ms >= 0 for r in lines)  # type: ignore[attr-defined]
    assert token not in caplog.text
    assert all(token not in json.dumps(r.__dict__, default=str) for r in caplog.records)


def test_json_logs_redact_secrets() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("info", "json", stream=stream)
        logging.getLogger("memoryd.test").info(
            "hello", extra={"token": "s3cr3t", "api_key": "k3y", "path": "/v1/x"}
        )
        structlog.get_logger("memoryd.test").info("bye", authorization="Bearer s3cr3t")
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[0]:
                root.removeHandler(handler)
        root.setLevel(saved[1])
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "hello" and lines[0]["path"] == "/v1/x"
    assert lines[0]["token"] == REDACTED and lines[0]["api_key"] == REDACTED
    assert lines[1]["authorization"] == REDACTED and lines[1]["level"] == "info"
    assert "s3cr3t" not in stream.getvalue() and "k3y" not in stream.getvalue()

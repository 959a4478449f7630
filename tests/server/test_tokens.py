"""Several bearer tokens in one token file (memoryd/tokens.py); the single-token file unchanged."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from memoryd import ConfigError, Memory, Settings
from memoryd.client import Client
from memoryd.lifecycle.runtime import read_token
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread
from memoryd.tokens import DEFAULT_TOKEN_ID, client_token, ensure_tokens, parse_tokens

PATH = Path("/x/token")


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_generated_file_holds_one_bare_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    tokens = ensure_tokens(path)
    assert len(tokens) == 1 and tokens.first.id == DEFAULT_TOKEN_ID
    assert path.read_text() == tokens.first.secret  # the format of earlier versions
    assert ensure_tokens(path).first == tokens.first
    assert client_token(path) == tokens.first.secret


def test_named_tokens_comments_and_blank_lines() -> None:
    a, b = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    text = f"# agents\n\n{a}\nci-agent.2:{b}\n  # trailing comment\n"
    tokens = parse_tokens(text, PATH)
    assert [t.id for t in tokens] == ["default", "ci-agent.2"]
    assert [t.secret for t in tokens] == [a, b]
    assert tokens[0].fingerprint.startswith("sha256:") and a not in repr(tokens[0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no token"),
        ("# only a comment\n", "holds no token"),
        ("abc\ndef\n", "more than one bare token"),
        ("a:abc\na:def\n", "duplicate token id 'a'"),
        ("a:abc\nb:abc\n", "same token appears twice"),
        ("bad id:abc\n", "token id"),
        ("-a:abc\n", "token id"),
        ("a:\n", "b64token"),
        ("a:b:c\n", "b64token"),
        ("a:to ken\n", "b64token"),
        ("a:tok=en\n", "b64token"),
    ],
)
def test_malformed_token_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_tokens(text, PATH)
    assert "abc" not in info.value.message  # never echoes a token


def test_every_token_of_the_file_is_accepted(
    server_settings: Settings, memory: Memory, tmp_path: Path
) -> None:
    first, second = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    _write(server_settings.resolved_token_file, f"{first}\nagent-b:{second}\n")
    app = create_app(server_settings, memory)
    with TestClient(app, base_url="http://127.0.0.1") as http:
        for token in (first, second):
            response = http.get("/v1/stats", headers={"authorization": f"Bearer {token}"})
            assert response.status_code == 200
        for wrong in ("", "agent-b", f"agent-b:{second}", second[:-1], first + second):
            response = http.get("/v1/stats", headers={"authorization": f"Bearer {wrong}"})
            assert response.status_code == 401, wrong


def test_clients_send_the_first_token(server_settings: Settings, memory: Memory) -> None:
    first, second = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    _write(server_settings.resolved_token_file, f"# owner first\nowner:{first}\nb:{second}\n")
    assert read_token(server_settings) == first
    with serve_in_thread(create_app(server_settings, memory)) as url:
        with Client(server_settings, base_url=url) as client:
            assert client.stats().total >= 0
        with Client(server_settings, base_url=url, token=second) as client:
            assert client.stats().total >= 0


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o660])
def test_a_multi_token_file_must_be_private(server_settings: Settings, mode: int) -> None:
    _write(server_settings.resolved_token_file, "a:abc\nb:def\n", mode)
    with pytest.raises(ConfigError, match="chmod 600"):
        create_app(server_settings)


def test_a_malformed_token_file_refuses_to_start(server_settings: Settings) -> None:
    _write(server_settings.resolved_token_file, "a:abc\na:def\n")
    with pytest.raises(ConfigError, match="duplicate"):
        create_app(server_settings)

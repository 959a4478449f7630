"""One configuration object: :class:`Settings`.

Sources, highest priority first: keyword arguments (CLI flags), environment
variables ``MEMORYD_*`` (``MEMORYD_PORT=9000``; nested lists as JSON), the TOML
file (``MEMORYD_CONFIG`` or ``<user config dir>/memoryd/config.toml``), then
the defaults below. Paths default to platformdirs locations.

A config file may hold secrets (an API key), so it must not be readable or
writable by group or others: :func:`load_settings` refuses it otherwise
(RELIABILITY.md S7).

Paths go through :mod:`memoryd.paths` (RELIABILITY.md S8): a config file that
is set but is missing, a folder, a FIFO or unreadable, and a ``data_dir`` or
``model_cache_dir`` that exists as a file, raise ``InvalidPath``
(``invalid_path``) instead of being skipped or failing later. Only the default
config file may be absent (the defaults apply).

A key of the config file that is no setting (a typo: ``prot = 7078``, or a
table: settings are top-level keys) raises ``ConfigError`` naming the file,
the key and the nearest setting. An unknown ``MEMORYD_*`` environment variable
that is close to a setting's (``MEMORYD_PROT``) is logged as a warning naming
it, never an error: test suites and benchmarks share the prefix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from memoryd.config_sources import (
    ConfigFileSource,
    config_file,
    default_config_path,
    warn_unknown_env,
)
from memoryd.errors import ConfigError
from memoryd.paths import check_directory, check_file_path

__all__ = [
    "DEFAULT_PORT",
    "LOOPBACK_HOSTS",
    "RATE_LIMIT_WINDOW_S",
    "Settings",
    "check_private_file",
    "config_file",
    "default_config_path",
    "http_url",
    "load_settings",
]

#: Default TCP port of the daemon (loopback only unless configured).
DEFAULT_PORT = 7077
#: Seconds over which the ``rate_limit_*_rps`` rates are enforced (a moving window).
RATE_LIMIT_WINDOW_S = 10
#: Host names that reach only this machine (any other needs ``allow_remote``).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class Settings(BaseSettings):
    """Every knob of memoryd. Units are in the field names or docs below.

    Example: ``Settings(data_dir=Path("/tmp/m"), port=0)``.
    """

    model_config = SettingsConfigDict(
        env_prefix="MEMORYD_", extra="ignore", validate_default=True, toml_file=None
    )

    # --- paths -------------------------------------------------------------
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("memoryd")))
    """Holds ``memoryd.db``, the vector index, the ONNX model and the token."""
    model_cache_dir: Path | None = None
    """Where exported embedding models are cached; default ``<data_dir>/models``.
    Point several stores (or a test run) at one folder to export only once."""
    token_file: Path | None = None
    """Bearer-token file (mode 0600); default ``<data_dir>/token``."""

    # --- daemon ------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    allowed_origins: list[str] = Field(default_factory=list)
    """Browser origins allowed to call the API; requests with any other Origin get 403."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """Extra Host header names accepted besides loopback names."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body accepted, in bytes (413 above)."""
    allow_remote: bool = False
    """Must be true to bind a non-loopback address (a token is always required)."""
    shutdown_timeout_s: float = Field(default=10.0, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    log_file: Path | None = None
    """The daemon's log file (JSON lines, rotated at 10 MiB, 5 kept); default
    ``<data_dir>/logs/memoryd.log``. ``memoryd service logs`` tails it."""

    # --- daemon lifecycle (memoryd mcp and Client in discovery mode) -------
    auto_start: bool = True
    """Start a daemon for this data dir when none runs (``memoryd mcp``, ``Client()``)."""
    fallback_local: bool = True
    """Serve a call with the in-process engine when the daemon fails or times out."""
    idle_timeout_s: float = Field(default=900.0, ge=0)
    """An auto-started daemon exits after this many seconds without requests (0 = never).
    A daemon started by the user or the service manager never stops for idleness."""
    start_timeout_s: float = Field(default=10.0, gt=0)
    """Longest wait for an auto-started daemon to become ready, in seconds."""
    daemon_timeout_s: float = Field(default=10.0, gt=0)
    """Per-call deadline for the daemon in discovery mode before falling back, in seconds."""
    breaker_cooldown_s: float = Field(default=30.0, ge=0)
    """After the daemon failed a call, calls go to the in-process engine for this many
    seconds before the daemon is tried again (circuit breaker, half-open after cooldown)."""

    # --- rate limits (RELIABILITY.md S6; server/ratelimit.py) -----------------
    rate_limit_token_rps: float = Field(default=50.0, ge=0)
    """Requests per second one bearer token may send, enforced over a moving
    10-second window (at most 10 x this many in any 10 s); 0 = no limit per token.
    Over it the daemon answers 429 ``rate_limited`` with ``Retry-After``.
    ``/healthz`` is never limited."""
    rate_limit_token_burst: int = Field(default=100, ge=1)
    """Most requests one token may send in any 1 second (at least ``rate_limit_token_rps``)."""
    rate_limit_session_rps: float = Field(default=20.0, ge=0)
    """Requests per second one MCP session (``Mcp-Session-Id`` on ``/mcp``) may send,
    over the same 10-second window; counted besides its token's; 0 = no limit per session."""
    rate_limit_session_burst: int = Field(default=40, ge=1)
    """Most requests one MCP session may send in any 1 second."""
    rate_limit_max_wait_s: float = Field(default=10.0, ge=0)
    """``Client`` and ``memoryd mcp``: longest total wait, in seconds, for a 429's
    ``Retry-After`` before the call raises ``RateLimited`` (0 = raise at once)."""

    # --- MCP (mcp/results.py) -------------------------------------------------
    mcp_max_result_bytes: int = Field(default=60_000, ge=1024)
    """Largest MCP tool result, in UTF-8 bytes of its JSON text (``structuredContent``
    carries the same JSON again). ``memory_search``, ``memory_context``, ``memory_list``
    and ``conversation_recent`` leave whole items out to fit and say ``truncated: true``
    and ``omitted``; one item is never split. The default is about 20,000 tokens at 3
    bytes per token (JSON with ids and timestamps packs fewer bytes into a token than
    prose's ~4), under Claude Code's default cap of 25,000 tokens per MCP tool result
    (``MAX_MCP_OUTPUT_TOKENS``)."""

    # --- daemon probes and store identity (identity) ------------------------
    probe_timeout_s: float = Field(default=10.0, gt=0)
    """How long a daemon we know of (a live pid in ``daemon.json``, or ``--url``) gets
    to answer one probe (``/healthz``, ``/readyz``, ``/v1/identity``), in seconds. Sized
    for a loaded machine: a daemon that is opening its store on 2 busy cores (load
    average 8) can take seconds to answer, and giving up early sends the caller to
    a second engine or a second daemon for nothing."""
    probe_guess_timeout_s: float = Field(default=1.0, gt=0)
    """How long the CLI waits at ``base_url`` when no ``daemon.json`` names a daemon,
    in seconds: a guess, where nothing may listen. A refused connection ends it at
    once; only a listener that does not answer costs this, and then the CLI opens
    the store in-process."""

    # --- storage -----------------------------------------------------------
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    """FULL survives power loss; NORMAL survives process kills only (RELIABILITY.md)."""
    busy_timeout_ms: int = Field(default=10_000, ge=0)
    ttl_purge_interval_s: float = Field(default=60.0, gt=0)
    index_save_interval_s: float = Field(default=30.0, gt=0)
    """Seconds between vector-index checkpoints while it changes (and at close).

    Bounds the ``index_log`` tail a restart after kill -9 replays: the
    operations of at most this many seconds of writes (``benchmarks/startup.py``
    measures the restart). A daemon that replayed a tail at open saves it
    ``workers.TAIL_SAVE_DELAY_S`` (5 s) after start instead of after the first interval."""

    # --- full disk (RELIABILITY.md R5; memoryd/store/space.py) --------------
    disk_reserve_bytes: int = Field(default=1_048_576, ge=0)
    """Bytes kept preallocated in ``<data_dir>/space-reserve`` and given up when
    the disk is too full to start (open the store, write ``daemon.json``, the
    token, the pid file); writes are then refused until twice this much is
    free again. 0 = no reserve."""
    disk_recheck_interval_s: float = Field(default=5.0, gt=0)
    """How often, after writes were refused for space, the storage worker checks
    whether space returned (then remakes the reserve and checkpoints the WAL)."""

    # --- erasure (store/erasure.py) -------------------------------------------
    erase_interval_s: float = Field(default=300.0, gt=0)
    """Longest time, in seconds, a deleted entry's copies stay in the FTS5
    segments, the vector-index checkpoint and the WAL: the background erasure
    pass runs this often when something was deleted (``forget`` runs it at once)."""

    # --- integrity (corruption detection, RELIABILITY.md R7) ---------------
    integrity_open_check_budget_s: float = Field(default=0.25, ge=0)
    """Longest wait at open, in seconds, for ``PRAGMA quick_check`` (it runs while
    the vector index loads); a check that takes longer (above ~30k rows here)
    finishes in the background. 0 = do not wait."""
    integrity_check_interval_s: float = Field(default=86_400.0, gt=0)
    """How often the background full check runs (``PRAGMA integrity_check``, FTS5
    ``integrity-check``, every checksum), in seconds; default daily."""
    integrity_check_delay_s: float = Field(default=60.0, ge=0)
    """Seconds after start before the first full check, when the last one recorded
    in the store is older than ``integrity_check_interval_s``."""

    # --- embeddings --------------------------------------------------------
    embedding_provider: Literal["local", "openai"] = "local"
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_base_url: str = "https://api.openai.com/v1"
    embedding_api_key: SecretStr | None = None
    embedding_dim: int | None = Field(default=None, ge=1)
    """Expected dimension for remote providers (probed on first use if unset)."""
    embedding_timeout_s: float = Field(default=10.0, gt=0)
    embedding_batch_size: int = Field(default=32, ge=1, le=1024)
    embedding_threads: int = Field(default=0, ge=0)
    """onnxruntime intra-op threads; 0 = one per core."""
    write_embed_budget_ms: float = Field(default=100.0, ge=0)
    """Write latency budget under concurrent writes: a group-commit batch whose
    wait plus expected embedding time exceeds it commits with a backfill-queue
    entry and is embedded moments later (``memoryd/write_vectors.py``); 0 = every
    write embeds before its commit."""
    embed_backlog_max_s: float = Field(default=300.0, gt=0)
    """Most embedding work (seconds, expected) that deferred writes may leave
    queued: how far vector search may fall behind writes under a sustained
    overload; beyond it writes embed before committing again (back-pressure)."""

    # --- search ------------------------------------------------------------
    fusion: Literal["rrf", "weighted"] = "weighted"
    """Fusion of BM25 and vector lists; chosen on LoCoMo (docs/PERFORMANCE.md)."""
    rrf_k: int = Field(default=60, ge=1)
    """RRF constant k (Cormack, Clarke & Buettcher, SIGIR 2009)."""
    bm25_weight: float = Field(default=1.0, ge=0)
    vector_weight: float = Field(default=0.4, ge=0)
    candidates: int = Field(default=100, ge=10, le=5000)
    """Candidates taken from each of BM25 and vector search before fusion."""

    keyword_index: Literal["memory", "fts5"] = "memory"
    """BM25 ranking of the keyword leg: an in-memory index built at start-up
    (``memory``, FTS5 until it is ready) or FTS5's ``bm25()`` on every query."""

    message_context: bool = True
    """Index each conversation turn together with the previous turn of its session."""

    # --- client ------------------------------------------------------------
    client_timeout_s: float = Field(default=30.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(ConfigFileSource(settings_cls, path))
        return tuple(sources)

    @field_validator("data_dir", "model_cache_dir", mode="after")
    @classmethod
    def _folder_path(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        purpose = info.field_name or "folder"
        return None if value is None else check_directory(value, purpose=purpose)

    @field_validator("token_file", "log_file", mode="after")
    @classmethod
    def _file_path(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        purpose = info.field_name or "file"
        return None if value is None else check_file_path(value, purpose=purpose)

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> Settings:
        for scope in ("token", "session"):
            rps = getattr(self, f"rate_limit_{scope}_rps")
            burst = getattr(self, f"rate_limit_{scope}_burst")
            if rps * RATE_LIMIT_WINDOW_S >= 1 and burst < rps:
                raise ValueError(
                    f"rate_limit_{scope}_burst ({burst}) must be at least "
                    f"rate_limit_{scope}_rps ({rps}): it is the most requests in one second"
                )
            if 0 < rps * RATE_LIMIT_WINDOW_S < 1:
                raise ValueError(
                    f"rate_limit_{scope}_rps ({rps}) must be 0 (off) or at least "
                    f"{1 / RATE_LIMIT_WINDOW_S} (one request per {RATE_LIMIT_WINDOW_S} s)"
                )
        return self

    @model_validator(mode="after")
    def _safe_bind(self) -> Settings:
        if self.host not in LOOPBACK_HOSTS and not self.allow_remote:
            raise ValueError(
                f"host {self.host!r} is not loopback; set allow_remote=true to bind it "
                "(the bearer token stays required)"
            )
        return self

    # --- derived paths -----------------------------------------------------
    @property
    def db_path(self) -> Path:
        """``<data_dir>/memoryd.db``."""
        return self.data_dir / "memoryd.db"

    @property
    def index_dir(self) -> Path:
        """``<data_dir>/index``: vector index files and manifest."""
        return self.data_dir / "index"

    @property
    def model_dir(self) -> Path:
        """``model_cache_dir`` or ``<data_dir>/models``: the exported ONNX model cache."""
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def resolved_token_file(self) -> Path:
        """``token_file`` or ``<data_dir>/token``."""
        return self.token_file or self.data_dir / "token"

    @property
    def resolved_log_file(self) -> Path:
        """``log_file`` or ``<data_dir>/logs/memoryd.log``."""
        return self.log_file or self.data_dir / "logs" / "memoryd.log"

    @property
    def reserve_file(self) -> Path:
        """``<data_dir>/space-reserve``: the space held back for starting on a full disk."""
        return self.data_dir / "space-reserve"

    @property
    def runtime_file(self) -> Path:
        """``<data_dir>/daemon.json``: pid, address and start mode of the running daemon."""
        return self.data_dir / "daemon.json"

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the daemon (:func:`http_url`)."""
        return http_url(self.host, self.port)


def http_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 host bracketed (``http://[::1]:7077``)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def check_private_file(path: Path, what: str, why: str) -> None:
    """Refuse a file that its group or others may read, write or run (a secret's file).

    Args:
        path: the file (it must exist).
        what: what it is, for the message (``"config file"``, ``"token file"``).
        why: why it must be private, for the message.

    Raises:
        ConfigError: any group/other permission bit is set; the message shows
            the mode and the ``chmod 600`` that fixes it.
        OSError: ``path`` cannot be stat'ed.
    """
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what} {path} has mode {stat.S_IMODE(mode):04o}; {why}. Run: chmod 600 {path}",
            path=str(path),
        )


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings` from overrides, env and the TOML file.

    Unknown ``MEMORYD_*`` variables close to a setting are logged
    (:func:`warn_unknown_env`).

    Raises:
        ConfigError: the config file is group/world accessible, is not valid
            TOML, holds an unknown key (:func:`check_config_keys`), or a value is invalid.
        InvalidPath: the config file (``MEMORYD_CONFIG`` names a missing one,
            or it is no regular file), ``data_dir``, ``model_cache_dir``,
            ``token_file`` or ``log_file`` is the wrong kind of path.
    """
    warn_unknown_env(os.environ, Settings.model_fields)
    path = config_file()
    if path is not None:
        check_private_file(path, "config file", "it may hold secrets")
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc

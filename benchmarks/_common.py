"""Shared helpers of the memoryd benchmarks (not a benchmark itself).

* :func:`machine_info` — platform, CPU, load, package versions, git commit.
* :func:`summarize` — latency percentiles in milliseconds.
* :func:`memory_texts` / :func:`query_texts` — realistic short memories and
  questions (names, topics, projects, places; Zipf-like word frequencies so
  BM25 posting lists and embedding clusters look like real agent memories).
* :func:`dataset` — ``(texts, tags, vectors)`` embedded once with the real
  all-MiniLM-L6-v2 model and cached as ``.json``/``.npy`` under
  :data:`BENCH_CACHE` (``$MEMORYD_BENCH_CACHE`` or ``~/.cache/memoryd-bench``).
* :func:`cached_store` / :func:`copy_store` — a store of ``n`` memories built
  once with ``Memory.add_many`` and the cached vectors, copied per run.
* :class:`Daemon` — a real ``memoryd serve`` subprocess on a free loopback
  port with a temporary token file; rate limits off unless asked for
  (:data:`NO_RATE_LIMITS`).

Importing this module removes every ``MEMORYD_*`` environment variable (but
``MEMORYD_BENCH_CACHE``) and points ``MEMORYD_CONFIG`` at an empty file, so
the benchmarks always measure the default settings.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Default settings only: a user's MEMORYD_* variables or config file never leak in.
for _key in [k for k in os.environ if k.startswith("MEMORYD_") and k != "MEMORYD_BENCH_CACHE"]:
    del os.environ[_key]
BENCH_CACHE = Path(os.environ.get("MEMORYD_BENCH_CACHE", Path.home() / ".cache" / "memoryd-bench"))
MODEL_CACHE = BENCH_CACHE / "models"
ROOT = Path(__file__).resolve().parent.parent
EMPTY_CONFIG = BENCH_CACHE / "empty-config.toml"  # a user's config never leaks in
EMPTY_CONFIG.parent.mkdir(parents=True, exist_ok=True)
EMPTY_CONFIG.write_text("")
EMPTY_CONFIG.chmod(0o600)
os.environ["MEMORYD_CONFIG"] = str(EMPTY_CONFIG)
from _textgen import SEED, memory_texts, query_texts  # noqa: E402,F401

GEN_VERSION = 1  # bump when the text generator changes (invalidates caches)
#: The latency benchmarks' closed-loop clients send the next request as soon as
#: the last one is answered, which the daemon's rate limit (RELIABILITY.md S6)
#: would throttle with 429s and waits; they measure latency with it off.
#: ``rate_limit.py`` measures the limit itself (``Daemon(rate_limits=True)``).
NO_RATE_LIMITS = {"MEMORYD_RATE_LIMIT_TOKEN_RPS": "0", "MEMORYD_RATE_LIMIT_SESSION_RPS": "0"}
MEMORYD_BIN = Path(sys.executable).with_name("memoryd")
if not MEMORYD_BIN.exists():
    MEMORYD_BIN = Path(shutil.which("memoryd") or "memoryd")
Row = dict[str, Any]


# --------------------------------------------------------------------------- machine
def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.stdout.strip() if out.returncode == 0 else "?"


def _fs_type(path: Path) -> str:
    best, fstype = "", "?"
    with open("/proc/mounts") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) > 2 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                best, fstype = parts[1], parts[2]
    return fstype


def machine_info(tmp_dir: Path | None = None) -> Row:
    """Where and on what the benchmark ran (load average and fs type included)."""
    cpu = platform.processor() or "?"
    with open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    with open("/proc/meminfo") as fh:
        mem_kb = int(next(ln.split()[1] for ln in fh if ln.startswith("MemTotal")))
    versions = {"sqlite": sqlite3.sqlite_version}
    for pkg in ("memoryd", "numpy", "onnxruntime", "tokenizers", "usearch", "fastapi", "uvicorn"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    for pkg in ("httpx", "pydantic"):
        versions[pkg] = importlib.metadata.version(pkg)
    dirty = _git("status", "--porcelain", "-uno")
    tmp = tmp_dir or Path(tempfile.gettempdir())
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "mem_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": _git("rev-parse", "--short=12", "HEAD")
        + ("+dirty" if dirty not in ("", "?") else ""),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "tmp_dir": f"{tmp} ({_fs_type(tmp)})",
    }


def machine_line(m: Row) -> str:
    p = m["packages"]
    return (
        f"{m['cpu']}, {m['cpus']} CPUs ({m['cpus_usable']} usable), {m['mem_gib']} GiB; "
        f"{m['platform']}; Python {m['python']}; memoryd {p['memoryd']} @ {m['git_commit']}; "
        f"onnxruntime {p['onnxruntime']}, usearch {p['usearch']}, SQLite {p['sqlite']}; "
        f"load avg (1/5/15 min) {m['loadavg']} at start"
        + (f", {m['loadavg_end']} at end" if "loadavg_end" in m else "")
        + f"; tmp {m['tmp_dir']}"
    )


# --------------------------------------------------------------------------- stats / output
def summarize(seconds: Sequence[float]) -> Row:
    """n, mean and p50/p95/p99/max of durations given in seconds, as milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "n": len(ms),
        "mean_ms": float(ms.mean()),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "max_ms": float(ms.max()),
    }


def fmt(value: Any, nd: int = 2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{nd}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(value: float, limit: float, *, at_least: bool = False) -> str:
    ok = value >= limit if at_least else value <= limit
    return f"{'PASS' if ok else 'FAIL'} ({'≥' if at_least else '≤'} {limit:g})"


def report(
    name: str, method: str, machine: Row, tables: Sequence[str], data: Row, out: str
) -> None:
    """Print method, machine, command and tables; write ``data`` as JSON to ``out`` if given."""
    command = " ".join([Path(sys.executable).name, *sys.argv])
    machine = {**machine, "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    print(f"## {name}\n\n**Method.** {method}\n\n**Machine.** {machine_line(machine)}\n")
    print(f"**Command.** `{command}`\n")
    for table in tables:
        print(table + "\n")
    if out:
        payload = {"benchmark": name, "command": command, "method": method, "machine": machine}
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({**payload, **data}, indent=2, default=str) + "\n")


# --------------------------------------------------------------------------- settings / data
def bench_settings(data_dir: Path, **overrides: Any) -> Any:
    from memoryd.config import Settings

    return Settings(data_dir=data_dir, model_cache_dir=MODEL_CACHE, **overrides)


def embedder() -> Any:
    """The real local embedder (ONNX all-MiniLM-L6-v2), exported once into :data:`MODEL_CACHE`."""
    from memoryd.embeddings import create_embedder

    emb = create_embedder(bench_settings(BENCH_CACHE / "embedder-data"))
    emb.warmup()
    return emb


def _cached_sizes(folder: Path, stem: str) -> list[tuple[int, Path]]:
    found = [(int(p.stem.rsplit("n", 1)[1]), p) for p in folder.glob(stem + "*.npy")]
    return sorted(found)


def dataset(n: int, seed: int = SEED) -> tuple[list[str], list[str], np.ndarray]:
    """``(texts, tags, vectors)`` of ``n`` memories, vectors from the real model, cached.

    A cached larger set is sliced (the generator is prefix-stable); a cached
    smaller one is extended, so only the new texts are embedded.
    """
    folder = BENCH_CACHE / "data"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"memories-v{GEN_VERSION}-seed{seed}-n"
    cached = _cached_sizes(folder, stem)
    for size, path in cached:
        if size >= n:
            pairs = json.loads(path.with_suffix(".json").read_text())[:n]
            vectors = np.load(path, mmap_mode="r")[:n]
            return [p[0] for p in pairs], [p[1] for p in pairs], np.ascontiguousarray(vectors)
    pairs = memory_texts(n, seed)
    emb, texts = embedder(), [p[0] for p in pairs]
    vectors = np.zeros((n, emb.dim), dtype=np.float32)
    have = 0
    if cached:
        have = cached[-1][0]
        vectors[:have] = np.load(cached[-1][1])
    started = time.perf_counter()
    for start in range(have, n, 1024):
        vectors[start : start + 1024] = emb.embed(texts[start : start + 1024])
        done = min(n, start + 1024)
        rate = (done - have) / (time.perf_counter() - started)
        print(f"  embedding dataset: {done:,}/{n:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    path = folder / f"{stem}{n}.npy"
    path.with_suffix(".json").write_text(json.dumps(pairs))
    np.save(path, vectors)
    return texts, [p[1] for p in pairs], vectors


def synthetic_dataset(
    n: int, seed: int = SEED, dim: int = 384
) -> tuple[list[str], list[str], np.ndarray]:
    """``(texts, tags, vectors)`` like :func:`dataset`, with random unit vectors instead.

    For benchmarks that need the store's size, not its semantic quality
    (start-up, index load and rebuild): embedding 100k texts with the real
    model takes many minutes on 2 cores, drawing 100k Gaussian vectors
    (normalised to unit length, seeded) under a second. HNSW build and load
    costs depend on ``n`` and ``dim``; random vectors are a slightly harder
    graph than clustered real ones (no structure), so rebuilds are if anything
    slower than with real vectors.
    """
    pairs = memory_texts(n, seed)
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [p[0] for p in pairs], [p[1] for p in pairs], vectors


def items_with_vectors(texts: Sequence[str], tags: Sequence[str], vectors: np.ndarray) -> list[Row]:
    """``add_many`` items with their vectors as lists of floats (as a JSON import has them)."""
    return [
        {"content": t, "tags": [g], "vector": v}
        for t, g, v in zip(texts, tags, vectors.tolist(), strict=True)
    ]


def _lazy_items(texts: Sequence[str], tags: Sequence[str], vectors: np.ndarray) -> Iterator[Row]:
    for start in range(0, len(texts), 1000):
        end = start + 1000
        yield from items_with_vectors(texts[start:end], tags[start:end], vectors[start:end])


def cached_store(
    n: int, seed: int = SEED, *, rebuild: bool = False, synthetic: bool = False
) -> Path:
    """Folder of a pristine store of ``n`` memories (built once with precomputed vectors).

    With ``synthetic`` the vectors are :func:`synthetic_dataset`'s random unit
    vectors (a separate cached store) instead of the real model's.

    Keyed by memoryd version, schema version and vector-index checkpoint
    format; use ``rebuild=True`` (the scripts' ``--rebuild``) after an engine
    change that alters the stored data.
    """
    import memoryd
    from memoryd import Memory
    from memoryd.store import vector_index
    from memoryd.store.migrations import MIGRATIONS

    schema = max(m.version for m in MIGRATIONS)
    name = f"v{GEN_VERSION}-seed{seed}-n{n}-memoryd{memoryd.__version__}-schema{schema}"
    # Code from before index format 2 (ab.sh runs it with this script) has no
    # INDEX_FORMAT and keeps the old names.
    index_format = getattr(vector_index, "INDEX_FORMAT", 1)
    if index_format > 1:
        name += f"-index{index_format}"
    if synthetic:
        name += "-synthetic"
    path = BENCH_CACHE / "stores" / name
    if (path / "BUILD.json").exists() and not rebuild:
        return path
    texts, tags, vectors = synthetic_dataset(n, seed) if synthetic else dataset(n, seed)
    shutil.rmtree(path, ignore_errors=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.perf_counter()
    with Memory(bench_settings(tmp), background=False) as memory:
        memory.add_many(_lazy_items(texts, tags, vectors), batch_size=1000)
    took = time.perf_counter() - started
    info = {"n": n, "seed": seed, "synthetic": synthetic, "build_s": took}
    info["git"] = _git("rev-parse", "HEAD")
    (tmp / "BUILD.json").write_text(json.dumps(info))
    tmp.rename(path)
    print(f"  built store of {n:,} memories in {took:.1f} s: {path}", file=sys.stderr)
    return path


def copy_store(src: Path, dst: Path) -> Path:
    """Copy a cached store into ``dst`` (a fresh data dir) and return it."""
    skip = shutil.ignore_patterns("BUILD.json", "memoryd.pid", "token", "models")
    shutil.copytree(src, dst, ignore=skip)
    os.chmod(dst, 0o700)
    return dst


def bench_tmp(parent: str | None = None) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="memoryd-bench-", dir=parent)


# --------------------------------------------------------------------------- daemon
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> Row:
    """Memory of a process in KiB, and its thread count.

    From /proc/PID/status: ``VmRSS``, ``VmHWM`` (peak), ``RssAnon``, ``RssFile``,
    ``Threads``. From /proc/PID/smaps_rollup (Linux >= 4.14): ``Pss``, ``Pss_Anon``,
    ``Pss_File``. RSS counts a file page once per mapping, and SQLite maps the
    database once per connection (``mmap_size``), so ``RssFile`` can exceed the
    file; PSS counts each page once, shared pages split among their mappings.
    """
    out: Row = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:", "Threads:")):
                out[line.split(":")[0]] = int(line.split()[1])
    with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith(("Pss:", "Pss_Anon:", "Pss_File:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


#: Seconds an A/B run waits for an older daemon, which does not report its keyword index.
OLD_BUILD_WAIT_S = 10.0


def wait_settled(client: Any, timeout_s: float = 600.0) -> float:
    """Wait until a just-started daemon's start-up work is done; returns seconds waited.

    The daemon starts building its in-memory BM25 index ``SETTLE_S`` (2 s) after
    readiness; until ``keyword_backend`` leaves ``"building"``, keyword ranking
    runs on FTS5 and the build competes for the CPU, so latency measured then is
    the start-up transient, not the steady state.
    """
    from memoryd.server.state import SETTLE_S

    started = time.perf_counter()
    time.sleep(SETTLE_S + 0.5)
    stats = client.stats()
    if not hasattr(stats, "keyword_backend"):  # memoryd before 2026-11-22 (A/B runs)
        time.sleep(OLD_BUILD_WAIT_S)
        return time.perf_counter() - started
    while stats.keyword_backend == "building":
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"keyword index not built after {timeout_s} s")
        time.sleep(0.1)
        stats = client.stats()
    return time.perf_counter() - started


class Daemon:
    """A real ``memoryd serve --port P --data-dir D`` subprocess (token in a temp file).

    ``start()`` returns the seconds from spawn to the first ``/readyz`` 200
    (polled every ``poll_s``: each poll costs the starting daemon a request, so
    polling much faster than 10 ms slows the start it measures).

    Args:
        extra_tokens: ids of more tokens to accept besides :attr:`token`
            (``name:token`` lines of the token file; secrets in :attr:`tokens`).
        rate_limits: keep the default rate limits (else :data:`NO_RATE_LIMITS`).
        **env: more ``MEMORYD_*`` variables for the daemon.
    """

    def __init__(
        self,
        data_dir: Path,
        work_dir: Path,
        *,
        extra_tokens: Sequence[str] = (),
        rate_limits: bool = False,
        **env: str,
    ) -> None:
        self.data_dir, self.work_dir = data_dir, work_dir
        self.token = secrets.token_urlsafe(32)
        self.tokens = {name: secrets.token_urlsafe(32) for name in extra_tokens}
        lines = [self.token, *(f"{name}:{token}" for name, token in self.tokens.items())]
        self.token_file = work_dir / f"token-{secrets.token_hex(4)}"
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, "\n".join(lines).encode())
        os.close(fd)
        self.env = {
            **os.environ,
            "MEMORYD_CONFIG": str(EMPTY_CONFIG),
            "MEMORYD_MODEL_CACHE_DIR": str(MODEL_CACHE),
            "MEMORYD_TOKEN_FILE": str(self.token_file),
            **({} if rate_limits else NO_RATE_LIMITS),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log = work_dir / f"daemon-{secrets.token_hex(4)}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 600.0, poll_s: float = 0.01) -> float:
        self.port = free_port()
        cmd = [
            str(MEMORYD_BIN),
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        with open(self.log, "ab") as log, httpx.Client(trust_env=False, timeout=5.0) as http:
            started = time.perf_counter()
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
            headers = {"authorization": f"Bearer {self.token}"}
            while time.perf_counter() - started < timeout_s:
                if self.proc.poll() is not None:
                    tail = self.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"memoryd serve exited {self.proc.returncode}:\n{tail}")
                try:
                    if http.get(self.base_url + "/readyz", headers=headers).status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(poll_s)
        self.stop()
        raise TimeoutError(f"memoryd serve not ready after {timeout_s} s")

    def settle(self, timeout_s: float = 600.0) -> float:
        """:func:`wait_settled` on this daemon; returns seconds waited."""
        with self.client() as client:
            return wait_settled(client, timeout_s)

    def client(self) -> Any:
        from memoryd import Client

        return Client(base_url=self.base_url, token=self.token, timeout_s=120.0)

    def rss(self) -> Row:
        assert self.proc is not None
        return rss_kib(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""An open-loop request burst from one token (RELIABILITY.md S6); prints one JSON summary line.

    python burst.py URL --rate 1000 --seconds 3 [--path /v1/search] [--connections 256]

The bearer token is read from ``$MEMORYD_BURST_TOKEN`` (never from argv, so
it never shows in ``ps``). Requests are started on a fixed schedule, ``rate``
per second for ``seconds`` seconds, whatever the answers (open loop: a slow
daemon does not slow the offered load down while fewer than ``connections``
requests are in flight), over at most ``connections`` keep-alive connections.
``POST /v1/search`` sends a different query each time. Used by
``benchmarks/rate_limit.py``.

Output: ``{"t": "done", "sent": n, "statuses": {"200": n, "429": n, ...},
"retry_after": [distinct Retry-After values of the 429s], "bad_429": n
(429s without an integer Retry-After or the rate_limited body), "errors": n
(transport failures), "offered_rps": ..., "seconds": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from typing import Any

import httpx

WORDS = "tea coffee garden river meeting project budget travel python sqlite agent".split()


def _body(path: str, i: int) -> dict[str, Any] | None:
    if path == "/v1/search":
        return {"query": f"{WORDS[i % len(WORDS)]} {WORDS[(i // 7) % len(WORDS)]} {i}"}
    return None


async def _one(
    http: httpx.AsyncClient, path: str, i: int, out: dict[str, Any], gate: asyncio.Semaphore
) -> None:
    body = _body(path, i)
    async with gate:
        try:
            if body is None:
                response = await http.get(path)
            else:
                response = await http.post(path, json=body)
        except httpx.HTTPError:
            out["errors"] += 1
            return
    out["statuses"][str(response.status_code)] += 1
    if response.status_code == 429:
        value = response.headers.get("retry-after", "")
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if not value.isdigit() or code != "rate_limited":
            out["bad_429"] += 1
        else:
            out["retry_after"].add(int(value))


async def burst(url: str, token: str, rate: float, seconds: float, path: str, conns: int) -> Any:
    """Offer ``rate`` requests/s for ``seconds`` s; the summary described in the module doc."""
    out: dict[str, Any] = {"statuses": Counter(), "retry_after": set(), "bad_429": 0, "errors": 0}
    total = int(rate * seconds)
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    headers = {"authorization": f"Bearer {token}"}
    gate = asyncio.Semaphore(conns)  # in flight at most: the client never hoards memory
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=60.0, trust_env=False
    ) as http:
        started = time.monotonic()
        tasks = []
        for i in range(total):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_one(http, path, i, out, gate)))
        offered = time.monotonic() - started
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    return {
        "t": "done",
        "sent": total,
        "statuses": dict(out["statuses"]),
        "retry_after": sorted(out["retry_after"]),
        "bad_429": out["bad_429"],
        "errors": out["errors"],
        "offered_rps": round(total / offered, 1) if offered > 0 else None,
        "seconds": round(elapsed, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--path", default="/v1/search")
    parser.add_argument("--connections", type=int, default=256)
    args = parser.parse_args()
    token = os.environ["MEMORYD_BURST_TOKEN"]
    summary = asyncio.run(
        burst(args.url, token, args.rate, args.seconds, args.path, args.connections)
    )
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Health, readiness, stats, Prometheus metrics, JSONL export and import.

* ``GET /healthz`` — 200 while the process serves HTTP; no token, no data.
* ``GET /readyz`` — 200 once the store is open and the model loaded, else 503.
* ``GET /v1/identity`` — which store this daemon serves
  (:class:`~memoryd.store.identity.StoreIdentity`: store id and database
  file); 503 until the store is open. Clients compare it with their own data
  dir before sending anything else (:mod:`memoryd.lifecycle.identity`).
* ``GET /v1/stats`` — :class:`~memoryd.operations.bodies.ServerStats`.
* ``GET /metrics`` — Prometheus text format.
* ``POST /v1/export?namespace=`` — one ``MemoryEntry`` JSON object per line
  (``application/x-ndjson``), vectors included. The export is written to an
  anonymous temporary file in the data dir before the status line is sent,
  so the answer is an error (503 ``storage_corrupted`` on a damaged store)
  or the complete body with its ``Content-Length``, never a 200 cut short.
* ``POST /v1/storage/verify`` — runs the full integrity check of the store now
  (:meth:`memoryd.Memory.verify_storage`) and returns the
  :class:`~memoryd.types.IntegrityReport` (200 even when damage is found:
  ``ok`` is false, and from then on ``/readyz`` and writes answer 503).
* ``POST /v1/import`` — body in the same JSONL format (at most
  ``settings.max_body_bytes`` per request; send several for more). Returns
  ``{"inserted": n}``; existing ids are skipped, so retries are safe.

``/v1/storage/verify`` is built from the registry (``routes/generated.py``);
stats, export and import are written here by hand (``Rest.hand_route``).
"""

from __future__ import annotations

import io

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from memoryd.errors import ValidationError
from memoryd.formats.jsonl import read_jsonl, spool_jsonl
from memoryd.operations.bodies import ImportResult, ServerStats, StatusOut
from memoryd.server.openapi_errors import COMMON_ERRORS, error_responses
from memoryd.server.routes.deps import MemoryDep, StateDep, endpoint, json_response
from memoryd.store.identity import StoreIdentity

__all__ = ["router"]

router = APIRouter(tags=["system"], responses=error_responses(*COMMON_ERRORS))


@router.get("/healthz", response_model=StatusOut)
async def healthz() -> Response:
    """Liveness: the process answers HTTP. Public, carries no data."""
    return json_response(StatusOut(status="ok"))


@router.get("/readyz", response_model=StatusOut, responses={503: {"model": StatusOut}})
async def readyz(state: StateDep) -> Response:
    """Readiness: 200 ``ready`` once the store is open, else 503 with the reason."""
    ready, reason = state.status()
    return JSONResponse({"status": reason}, status_code=200 if ready else 503)


@router.get("/v1/identity", response_model=StoreIdentity)
async def identity(state: StateDep) -> Response:
    """Which store this daemon serves (token required): its store id and database file.

    Not part of the public ``/healthz``: the id tells one store from another,
    and the file id names a file on this machine.
    """
    return json_response(state.identity())


@router.get("/metrics", include_in_schema=True, response_class=Response)
def metrics(state: StateDep) -> Response:
    """Prometheus text exposition (token required like every other route)."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@endpoint(router, "stats")
def stats(memory: MemoryDep, state: StateDep) -> Response:
    """Counts by kind and namespace, vector and queue sizes, file sizes (bytes), uptime (s)."""
    return json_response(
        ServerStats(**memory.stats().model_dump(), uptime_s=round(state.uptime_s, 3))
    )


@endpoint(router, "export", response_class=StreamingResponse)
def export(memory: MemoryDep, state: StateDep, namespace: str | None = None) -> StreamingResponse:
    """Every live entry (superseded included) with its vector, one JSON object per line."""
    spooled = spool_jsonl(memory.export(namespace=namespace), directory=state.settings.data_dir)
    return StreamingResponse(
        spooled.chunks(),
        media_type="application/x-ndjson",
        headers={"content-length": str(spooled.size)},
    )


@endpoint(
    router,
    "import_entries",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
async def import_entries(request: Request, memory: MemoryDep) -> Response:
    """Restore exported entries (JSONL body) losslessly; existing ids are skipped."""
    try:
        body = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("the JSONL body is not UTF-8") from exc
    records = [record for _, record in read_jsonl(io.StringIO(body))]
    inserted = await run_in_threadpool(memory.import_entries, records)
    return json_response(ImportResult(inserted=inserted))

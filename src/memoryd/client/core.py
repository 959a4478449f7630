"""The memory methods of :class:`memoryd.Client` (``ClientCore``), mirroring ``EngineCore``.

Inputs are validated locally with the engine's own models, so bad input
raises ``ValidationError`` before any request; the daemon validates again.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Self
from uuid import UUID

from pydantic_core import to_jsonable_python

from memoryd.client.routing import Routed, Router, ServedBy
from memoryd.client.transport import Transport, entries, segment
from memoryd.config import Settings, load_settings
from memoryd.errors import MemorydError, ValidationError
from memoryd.inputs import coerce_input, explicit_fields, forget_scope
from memoryd.lifecycle.identity import require_same_store
from memoryd.reports import ForgetResult, IntegrityReport, StoreStats
from memoryd.types import (
    Filter,
    Kind,
    MemoryEntry,
    MemoryInput,
    MemoryPatch,
    Page,
    SearchParams,
    SearchResult,
)

__all__ = ["ClientCore"]


class ClientCore:
    """Memories, search, stats, export/import over HTTP (use :class:`memoryd.Client`).

    Args:
        settings: where the daemon is (``base_url``), its token file
            (``resolved_token_file``), ``client_timeout_s`` (seconds) and
            ``max_body_bytes`` (bytes); loaded from env/TOML and ``**overrides`` if omitted.
        base_url: e.g. ``"http://127.0.0.1:7077"`` (overrides ``settings``).
        token: the bearer token (default: read from the token file on first call).
        timeout_s: per-request timeout in seconds (default ``settings.client_timeout_s``).
        verify_store: before the first request, check that the daemon serves the
            store of ``settings.data_dir`` when ``data_dir`` was set explicitly and
            holds a store (:func:`memoryd.lifecycle.identity.require_same_store`;
            ``StoreMismatch`` otherwise).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout_s: float | None = None,
        verify_store: bool = True,
        **overrides: Any,
    ) -> None:
        self.settings = settings or load_settings(**overrides)
        self._t = Transport(
            self.settings,
            base_url=base_url,
            token=token,
            timeout_s=timeout_s,
        )
        self.base_url = self._t.base_url
        self._router: Router | None = None
        self._served = threading.local()
        self._store_lock = threading.Lock()
        if verify_store:
            self._t.before_send = self._check_store

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
    def close(self) -> None:
        """Close the connection pool and a fallback engine, if any (idempotent)."""
        self._t.close()
        if self._router is not None:
            self._router.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ready(self) -> bool:
        """True when the daemon answers ``/readyz`` with 200."""
        try:
            self._t.request("GET", "/readyz")
        except MemorydError:
            return False
        return True

    # --- memories -----------------------------------------------------------
    def add(self, content: str | MemoryInput | dict[str, Any], **fields: Any) -> MemoryEntry:
        """Save one memory; returns the stored entry (or the existing duplicate).

        Raises:
            ValidationError, DimensionMismatch, StorageFull, BackendUnavailable, Timeout.
        """
        item = coerce_input(content, fields)
        payload = item.model_dump(mode="json", exclude_none=True)
        return MemoryEntry.model_validate(self._t.json("POST", "/v1/memories", json=payload))

    def add_many(
        self, items: Iterable[MemoryInput | dict[str, Any]], *, batch_size: int = 256
    ) -> list[MemoryEntry]:
        """Save many memories, ``batch_size`` (≤ 1000) per request and within the body limit.

        Returns the entries in input order (duplicates resolve to the stored entry).
        """
        lines = (
            coerce_input(item, {}).model_dump_json(exclude_none=True).encode() for item in items
        )
        out: list[MemoryEntry] = []
        for group in self._t.chunks(lines, max(1, min(batch_size, 1000))):
            body = b'{"items":[' + b",".join(group) + b"]}"
            response = self._t.json(
                "POST",
                "/v1/memories/batch",
                content=body,
                headers={"content-type": "application/json"},
            )
            out.extend(entries(response))
        return out

    def get(self, id: UUID | str, *, namespace: str = "default") -> MemoryEntry:
        """The entry ``id`` in ``namespace``. Raises ``NotFound``."""
        data = self._t.json(
            "GET", f"/v1/memories/{segment(str(id))}", params={"namespace": namespace}
        )
        return MemoryEntry.model_validate(data)

    def update(
        self,
        id: UUID | str,
        patch: MemoryPatch | dict[str, Any] | None = None,
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Change an entry in place (same id). Raises ``NotFound``, ``ValidationError``."""
        try:
            data = (
                patch.model_dump(exclude_unset=True)
                if isinstance(patch, MemoryPatch)
                else dict(patch or {})
            )
            change = MemoryPatch.model_validate({**data, **fields})
        except ValueError as exc:
            raise ValidationError(f"invalid update: {exc}") from exc
        data = self._t.json(
            "PATCH",
            f"/v1/memories/{segment(str(id))}",
            params={"namespace": namespace},
            json=change.model_dump(mode="json", exclude_unset=True),
        )
        return MemoryEntry.model_validate(data)

    def delete(self, id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an entry for good. Raises ``NotFound``."""
        self._t.request(
            "DELETE", f"/v1/memories/{segment(str(id))}", params={"namespace": namespace}
        )

    def supersede(
        self,
        id: UUID | str,
        content: str | MemoryInput | dict[str, Any],
        *,
        namespace: str = "default",
        **fields: Any,
    ) -> MemoryEntry:
        """Replace ``id`` by a new entry kept in its history. Raises ``NotFound``, ``Conflict``.

        As in ``Memory.supersede``, kind, session, agent, user, tags, metadata
        and importance come from the old entry unless given.
        """
        if isinstance(content, str):
            body: dict[str, Any] = {"content": content}
        else:
            given = explicit_fields(content)
            body = {k: v for k, v in given.items() if k != "namespace"}
        body.update(fields)
        data = self._t.json(
            "POST",
            f"/v1/memories/{segment(str(id))}/supersede",
            params={"namespace": namespace},
            json=to_jsonable_python(body),
        )
        return MemoryEntry.model_validate(data)

    def history(self, id: UUID | str, *, namespace: str = "default") -> list[MemoryEntry]:
        """The supersede chain containing ``id``, oldest first. Raises ``NotFound``."""
        path = f"/v1/memories/{segment(str(id))}/history"
        return entries(self._t.json("GET", path, params={"namespace": namespace}))

    def list(
        self,
        *,
        namespace: str = "default",
        kinds: Sequence[Kind] | None = None,
        session_id: str | None = None,
        tags: Sequence[str] | None = None,
        filter: Filter | dict[str, Any] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_superseded: bool = False,
    ) -> Page:
        """A page of entries, newest first. Raises ``ValidationError`` (limit, filter, cursor)."""
        params: dict[str, Any] = {"namespace": namespace, "limit": limit}
        params["include_superseded"] = "true" if include_superseded else "false"
        if kinds:
            params["kinds"] = builtins.list(kinds)
        if tags:
            params["tags"] = builtins.list(tags)
        if session_id is not None:
            params["session_id"] = session_id
        if cursor:
            params["cursor"] = cursor
        if filter is not None:
            tree = (
                filter.model_dump(mode="json", by_alias=True, exclude_none=True)
                if isinstance(filter, Filter)
                else filter
            )
            try:
                params["filter"] = json.dumps(tree)
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"invalid filter: {exc}") from exc
        return Page.model_validate(self._t.json("GET", "/v1/memories", params=params))

    def search(self, query: str | SearchParams | dict[str, Any], **params: Any) -> SearchResult:
        """Search memories (hybrid by default); see :class:`~memoryd.types.SearchParams`."""
        try:
            if isinstance(query, SearchParams):
                sp = query.model_copy(update=params) if params else query
            elif isinstance(query, dict):
                sp = SearchParams.model_validate({**query, **params})
            else:
                sp = SearchParams.model_validate({"query": query, **params})
        except ValueError as exc:
            raise ValidationError(f"invalid search: {exc}") from exc
        payload = sp.model_dump(mode="json", by_alias=True, exclude_none=True)
        return SearchResult.model_validate(self._t.json("POST", "/v1/search", json=payload))

    def stats(self) -> StoreStats:
        """Counts, sizes and index state of the daemon's store (uptime dropped)."""
        data = self._t.json("GET", "/v1/stats")
        # Fields an older daemon does not send keep their defaults.
        return StoreStats.model_validate({k: data[k] for k in StoreStats.model_fields if k in data})

    def forget(
        self,
        *,
        namespace: str | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> ForgetResult:
        """Erase a namespace, user or agent completely (see ``Memory.forget``).

        Raises:
            ValidationError: no scope or an invalid one (checked before any request).
        """
        scope = forget_scope(namespace=namespace, user_id=user_id, agent_id=agent_id)
        body = scope.model_dump(mode="json", exclude_none=True)
        return ForgetResult.model_validate(self._t.json("POST", "/v1/forget", json=body))

    def verify_storage(self) -> IntegrityReport:
        """Verify the daemon's store file now (see ``Memory.verify_storage``)."""
        return IntegrityReport.model_validate(self._t.json("POST", "/v1/storage/verify"))

    # --- export / import ----------------------------------------------------
    def export(self, *, namespace: str | None = None, batch: int = 500) -> Iterator[MemoryEntry]:
        """Every entry (superseded included, expired excluded) with its vector, streamed.

        ``batch`` is accepted for parity with ``Memory.export``; the daemon pages itself.
        Raises ``BackendUnavailable``/``Timeout`` while iterating if the stream breaks.
        """
        params = {"namespace": namespace} if namespace is not None else {}
        for line in self._t.stream_lines("POST", "/v1/export", params=params):
            yield MemoryEntry.model_validate_json(line)

    def import_entries(
        self, entries: Iterable[MemoryEntry | dict[str, Any]], *, batch: int = 500
    ) -> int:
        """Restore exported entries losslessly; returns how many were inserted (ids kept).

        Entries whose id already exists are skipped, so a retry is safe.

        Sent as JSONL, ``batch`` entries per request at most and within the body limit.
        """

        def lines() -> Iterator[bytes]:
            for raw in entries:
                try:
                    entry = raw if isinstance(raw, MemoryEntry) else MemoryEntry.model_validate(raw)
                except ValueError as exc:
                    raise ValidationError(f"invalid export record: {exc}") from exc
                yield entry.model_dump_json().encode()

        inserted = 0
        for group in self._t.chunks(lines(), max(1, batch)):
            data = self._t.json(
                "POST",
                "/v1/import",
                content=b"\n".join(group) + b"\n",
                headers={"content-type": "application/x-ndjson"},
            )
            inserted += int(data["inserted"])
        return inserted

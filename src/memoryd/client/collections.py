"""Conversations, session state and key/value for :class:`memoryd.Client`.

Mirrors ``memoryd.kinds``: same methods, arguments and results, over
``/v1/sessions/{session_id}/messages``, ``/v1/sessions/{session_id}/state/{key}``
and ``/v1/kv/{key}``. Keys are percent-encoded, so they may hold ``/``;
a ``session_id`` must not contain ``/`` (it is one path segment).
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from memoryd.client.core import ClientCore
from memoryd.client.transport import entries, segment
from memoryd.errors import NotFound, ValidationError
from memoryd.inputs import MISSING
from memoryd.types import MemoryEntry

__all__ = ["ClientConversations", "ClientState"]


class ClientConversations(ClientCore):
    """``append``, ``last_messages`` and ``session_messages`` over HTTP."""

    def append(
        self,
        session_id: str,
        content: str,
        *,
        role: str = "user",
        namespace: str = "default",
        created_at: datetime | None = None,
        **fields: Any,
    ) -> MemoryEntry:
        """Append one conversation turn to ``session_id``; returns the stored entry."""
        body = {"content": content, "role": role, **fields}
        if created_at is not None:
            body["created_at"] = created_at
        data = self._t.json(
            "POST",
            f"/v1/sessions/{segment(session_id)}/messages",
            params={"namespace": namespace},
            json=to_jsonable_python(body),
        )
        return MemoryEntry.model_validate(data)

    def last_messages(
        self, session_id: str, n: int = 10, *, namespace: str = "default"
    ) -> builtins.list[MemoryEntry]:
        """The last ``n`` turns of a session, oldest first."""
        path = f"/v1/sessions/{segment(session_id)}/messages"
        return entries(self._t.json("GET", path, params={"namespace": namespace, "last": n}))

    def session_messages(
        self, session_id: str, *, namespace: str = "default"
    ) -> builtins.list[MemoryEntry]:
        """Every turn of a session, oldest first."""
        path = f"/v1/sessions/{segment(session_id)}/messages"
        return entries(self._t.json("GET", path, params={"namespace": namespace}))


class ClientState(ClientCore):
    """``set_state``/``get_state``/``delete_state`` and ``kv_set``/``kv_get``/``kv_delete``."""

    def _put_value(self, path: str, namespace: str, body: dict[str, Any]) -> MemoryEntry:
        try:
            json.dumps(body["value"])
        except (TypeError, ValueError) as exc:
            raise ValidationError("value is not JSON-serialisable") from exc
        data = self._t.json("PUT", path, params={"namespace": namespace}, json=body)
        return MemoryEntry.model_validate(data)

    def _get_value(self, path: str, namespace: str, default: Any) -> Any:
        try:
            return self._t.json("GET", path, params={"namespace": namespace})["value"]
        except NotFound:
            if default is MISSING:
                raise
            return default

    def _delete_value(self, path: str, namespace: str) -> bool:
        return bool(self._t.json("DELETE", path, params={"namespace": namespace})["deleted"])

    @staticmethod
    def _state_path(session_id: str, key: str) -> str:
        if not key:
            raise ValidationError("key must be 1-512 characters", key=key)
        return f"/v1/sessions/{segment(session_id)}/state/{segment(key)}"

    @staticmethod
    def _kv_path(key: str) -> str:
        if not key:
            raise ValidationError("key must be 1-512 characters", key=key)
        return f"/v1/kv/{segment(key)}"

    def set_state(
        self, session_id: str, key: str, value: Any, *, namespace: str = "default"
    ) -> MemoryEntry:
        """Save a JSON ``value`` under ``(session_id, key)``; returns the entry."""
        return self._put_value(self._state_path(session_id, key), namespace, {"value": value})

    def get_state(
        self, session_id: str, key: str, default: Any = MISSING, *, namespace: str = "default"
    ) -> Any:
        """The value under ``(session_id, key)``; ``default`` if given, else ``NotFound``."""
        return self._get_value(self._state_path(session_id, key), namespace, default)

    def delete_state(self, session_id: str, key: str, *, namespace: str = "default") -> bool:
        """Delete a state value; ``False`` if there was none."""
        return self._delete_value(self._state_path(session_id, key), namespace)

    def kv_set(
        self,
        key: str,
        value: Any,
        *,
        ttl_seconds: float | None = None,
        namespace: str = "default",
    ) -> MemoryEntry:
        """Save a JSON ``value`` under ``key``, optionally expiring after ``ttl_seconds`` (s)."""
        body = {"value": value, "ttl_seconds": ttl_seconds}
        return self._put_value(self._kv_path(key), namespace, body)

    def kv_get(self, key: str, default: Any = MISSING, *, namespace: str = "default") -> Any:
        """The value under ``key``; ``default`` if given, else ``NotFound``."""
        return self._get_value(self._kv_path(key), namespace, default)

    def kv_delete(self, key: str, *, namespace: str = "default") -> bool:
        """Delete a key; ``False`` if there was none."""
        return self._delete_value(self._kv_path(key), namespace)

"""Identifiers.

Random entries get a UUID4. Records addressed by a natural key (session
state, key/value entries, sessions) get a deterministic UUID5 so that a
re-save updates in place and two daemons agree on the id::

    uuid5(MEMORYD_UUID_NAMESPACE, f"{namespace}/{kind}/{key}")

The namespace UUID below is fixed forever: changing it would orphan every
deterministic record ever written.
"""

from __future__ import annotations

import hashlib
import uuid

__all__ = ["MEMORYD_UUID_NAMESPACE", "content_hash", "deterministic_id", "new_id"]

#: Fixed UUID namespace for :func:`deterministic_id` (uuid5 of the project URL).
MEMORYD_UUID_NAMESPACE = uuid.UUID("8c1f4b0e-5d7a-5b53-9a49-6e1c9f0d2a77")


def new_id() -> uuid.UUID:
    """A fresh random id (UUID4)."""
    return uuid.uuid4()


def deterministic_id(namespace: str, kind: str, key: str) -> uuid.UUID:
    """The UUID5 of ``f"{namespace}/{kind}/{key}"`` under :data:`MEMORYD_UUID_NAMESPACE`.

    Example: ``deterministic_id("default", "kv", "theme")`` is the same on
    every machine and every run.
    """
    return uuid.uuid5(MEMORYD_UUID_NAMESPACE, f"{namespace}/{kind}/{key}")


def content_hash(content: str) -> str:
    """SHA-256 hex digest of the content, whitespace-trimmed, UTF-8 encoded.

    Used for dedup within a namespace and as the embedding-cache key.
    """
    return hashlib.sha256(content.strip().encode("utf-8")).hexdigest()

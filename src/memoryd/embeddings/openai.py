"""Remote embeddings from an OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

Works with OpenAI (``https://api.openai.com/v1``), Ollama (``http://127.0.0.1:11434/v1``)
and LM Studio (``http://127.0.0.1:1234/v1``). Request ``{"model", "input": [...]}``;
response ``{"data": [{"index": i, "embedding": [...]}, ...]}`` (OpenAI API reference,
"Create embeddings").

Deadline and retries: ``settings.embedding_timeout_s`` (seconds) bounds one batch request
*including* its retries, so a hung provider costs at most about that long. Within it, up to
3 attempts are made, with full-jitter exponential backoff (tenacity), only after connect
errors, timeouts, HTTP 429 and 5xx; any other 4xx fails at once. The API key is sent in the
``Authorization`` header only; it is never logged or put into an error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from memoryd.config import Settings
from memoryd.embeddings._util import check_texts, normalize_rows
from memoryd.embeddings.base import Vectors
from memoryd.errors import BackendUnavailable, DimensionMismatch, Timeout, ValidationError

__all__ = ["MAX_ATTEMPTS", "OpenAIEmbedder"]

log = logging.getLogger(__name__)

#: Attempts per batch request (1 try + 2 retries).
MAX_ATTEMPTS = 3
#: Text embedded to learn the dimension when ``settings.embedding_dim`` is unset.
PROBE_TEXT = "dimension probe"


class _RetryableStatus(Exception):
    """An HTTP 429/5xx answer, raised inside the retry loop."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (_RetryableStatus, httpx.ConnectError, httpx.TimeoutException))


def _provider_message(response: httpx.Response) -> str:
    """The provider's error text: OpenAI ``{"error": {"message"}}``, Ollama ``{"error"}``."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err:
            return str(err)[:500]
    return response.text[:500]


def _safe_url(url: str) -> str:
    """``url`` without user-info (``https://user:secret@host`` → ``https://host``)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(userinfo=b"")) if parsed.userinfo else url


class OpenAIEmbedder:
    """An :class:`~memoryd.embeddings.base.Embedder` backed by an OpenAI-compatible API.

    ``model`` is ``settings.embedding_model``. ``dim`` is ``settings.embedding_dim`` when set
    (answers of another length then raise ``DimensionMismatch``); otherwise it is learnt
    from the first answer, reading :attr:`dim` before any :meth:`embed` embeds one short
    probe text. Texts go out in batches of ``settings.embedding_batch_size``. One keep-alive
    ``httpx.Client`` is shared by all threads.

    Raises (from :meth:`embed` and :attr:`dim`):
        BackendUnavailable: connection refused/reset, HTTP 5xx or 429 after retries, or a
            malformed answer.
        Timeout: no complete answer within ``settings.embedding_timeout_s``.
        ValidationError: any other HTTP 4xx (bad model name, key, input), with the
            provider's message.
        DimensionMismatch: the provider returned vectors of another length than ``dim``.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.model: str = settings.embedding_model
        self.url = settings.embedding_base_url.rstrip("/") + "/embeddings"
        self.timeout_s = settings.embedding_timeout_s
        self.batch_size = settings.embedding_batch_size
        self._dim: int | None = settings.embedding_dim
        self._api_key = settings.embedding_api_key
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    # --- dimension -----------------------------------------------------------
    @property
    def dim(self) -> int:
        """Vector length; probed with one request if neither configured nor seen yet."""
        if self._dim is None:
            self._embed_batch([PROBE_TEXT])
        assert self._dim is not None
        return self._dim

    @dim.setter
    def dim(self, value: int) -> None:
        self._dim = value

    # --- http ----------------------------------------------------------------
    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                headers = {"Accept": "application/json", "User-Agent": "memoryd"}
                if self._api_key is not None and self._api_key.get_secret_value():
                    headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
                self._client = httpx.Client(
                    headers=headers,
                    timeout=self.timeout_s,
                    limits=httpx.Limits(max_keepalive_connections=4, keepalive_expiry=30.0),
                    follow_redirects=False,
                )
            return self._client

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        """POST with retries inside the deadline; map failures to memoryd errors."""
        client = self._http()
        deadline = time.monotonic() + self.timeout_s

        def attempt() -> httpx.Response:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise httpx.TimeoutException("deadline exceeded before the request")
            response = client.post(self.url, json=payload, timeout=httpx.Timeout(remaining))
            if response.status_code == 429 or response.status_code >= 500:
                raise _RetryableStatus(response)
            return response

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "embedding request to %s failed (%s), retry %d/%d",
                _safe_url(self.url),
                type(exc).__name__ if not isinstance(exc, _RetryableStatus) else exc,
                state.attempt_number,
                MAX_ATTEMPTS - 1,
            )

        retrying = Retrying(
            stop=stop_after_attempt(MAX_ATTEMPTS) | stop_before_delay(self.timeout_s),
            wait=wait_random_exponential(multiplier=0.1, max=1.0),
            retry=retry_if_exception(_retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        details = {"url": _safe_url(self.url), "model": self.model}
        try:
            response: httpx.Response = retrying(attempt)
        except _RetryableStatus as exc:
            status = exc.response.status_code
            raise BackendUnavailable(
                f"embedding provider answered HTTP {status}: {_provider_message(exc.response)}",
                status=status,
                retry_after=exc.response.headers.get("retry-after"),
                **details,
            ) from None
        except httpx.TimeoutException:
            raise Timeout(
                f"embedding provider at {details['url']} did not answer within "
                f"{self.timeout_s:g} s",
                timeout_s=self.timeout_s,
                **details,
            ) from None
        except httpx.HTTPError as exc:
            raise BackendUnavailable(
                f"cannot reach embedding provider at {details['url']}: {type(exc).__name__}: {exc}",
                **details,
            ) from None
        if response.status_code >= 400:
            raise ValidationError(
                f"embedding provider rejected the request (HTTP {response.status_code}): "
                f"{_provider_message(response)}",
                status=response.status_code,
                **details,
            )
        return response

    # --- embedding -------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` remotely.

        Returns:
            ``(len(texts), dim)`` float32, rows L2-normalised (the provider's vectors are
            re-normalised, since not all providers normalise).

        Raises:
            See the class docstring; also ``ValidationError`` for a bare string.
        """
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._embed_batch(items[start : start + self.batch_size])
            for start in range(0, len(items), self.batch_size)
        ]
        out: Vectors = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
        return out

    def _embed_batch(self, texts: list[str]) -> Vectors:
        response = self._post({"model": self.model, "input": texts})
        try:
            body = response.json()
            rows = sorted(body["data"], key=lambda row: int(row.get("index", 0)))
            vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackendUnavailable(
                f"malformed answer from embedding provider: {type(exc).__name__}: {exc}",
                url=_safe_url(self.url),
            ) from None
        if vectors.ndim != 2 or vectors.shape[0] != len(texts) or vectors.shape[1] == 0:
            raise BackendUnavailable(
                f"embedding provider returned shape {vectors.shape} for {len(texts)} texts",
                url=_safe_url(self.url),
            )
        if not np.isfinite(vectors).all():
            raise BackendUnavailable("embedding provider returned non-finite values")
        with self._lock:
            if self._dim is None:
                self._dim = int(vectors.shape[1])
        if vectors.shape[1] != self._dim:
            raise DimensionMismatch(
                f"embedding provider returned {vectors.shape[1]}-d vectors, expected {self._dim}",
                expected=self._dim,
                got=int(vectors.shape[1]),
                model=self.model,
            )
        return normalize_rows(vectors)

    def close(self) -> None:
        """Close the HTTP client (idempotent; a later :meth:`embed` opens a new one)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self.model!r}, url={_safe_url(self.url)!r})"

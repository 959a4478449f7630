/**
 * Typed errors of the memoryd client: one class per stable error code of the daemon.
 *
 * The daemon answers every failure with `{"error": {"code", "message", "details"}}`
 * (see `src/memoryd/errors.py` in the Python package); `code` is stable and
 * is what callers should branch on. The classes mirror `memoryd.errors`:
 * a subclass for each code, grouped under the same parents (`NotFound`,
 * `Conflict`, `StorageError`), so `err instanceof NotFound` also catches
 * `episode_not_found`.
 */

/** Fields every memoryd error carries. */
export interface ErrorFields {
  /** Stable machine-readable code, e.g. `"not_found"`. */
  code: string;
  /** HTTP status of the answer (0 when no answer came). */
  status: number;
  /** Extra structured context from the daemon (ids, limits, `retry_after` in seconds). */
  details: Record<string, unknown>;
}

/** Base class: any failure reported by the daemon or by this client. */
export class MemorydError extends Error implements ErrorFields {
  /** The code a class stands for; subclasses override it. */
  static readonly code: string = "memoryd_error";
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(message: string, fields: Partial<ErrorFields> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = fields.code ?? (new.target as typeof MemorydError).code;
    this.status = fields.status ?? 0;
    this.details = fields.details ?? {};
  }
}

/** 422 `validation_error`: the input breaks a bound or a type. */
export class ValidationError extends MemorydError {
  static override readonly code: string = "validation_error";
}
/** 400 `invalid_query`: a search query the keyword index cannot parse. */
export class InvalidQuery extends ValidationError {
  static override readonly code: string = "invalid_query";
}
/** 422 `invalid_series`: an analysis series that cannot be analysed. */
export class InvalidSeries extends ValidationError {
  static override readonly code: string = "invalid_series";
}
/** 400 `invalid_path`: a path that is not acceptable (`details.reason` says why). */
export class InvalidPath extends ValidationError {
  static override readonly code: string = "invalid_path";
}
/** 403 `path_outside_root`: a path that resolves outside the root it must stay in. */
export class PathOutsideRoot extends InvalidPath {
  static override readonly code: string = "path_outside_root";
}
/** 404 `not_found`: no such entry in this namespace. */
export class NotFound extends MemorydError {
  static override readonly code: string = "not_found";
}
/** 404 `episode_not_found`. */
export class EpisodeNotFound extends NotFound {
  static override readonly code: string = "episode_not_found";
}
/** 404 `pattern_not_found`. */
export class PatternNotFound extends NotFound {
  static override readonly code: string = "pattern_not_found";
}
/** 409 `conflict`: the operation contradicts the stored state. */
export class Conflict extends MemorydError {
  static override readonly code: string = "conflict";
}
/** 409 `id_conflict`: the caller's id is taken by another entry of this namespace. */
export class IdConflict extends Conflict {
  static override readonly code: string = "id_conflict";
}
/** 409 `dimension_mismatch`: a vector of another dimension than the store's model. */
export class DimensionMismatch extends Conflict {
  static override readonly code: string = "dimension_mismatch";
}
/** 409 `episode_already_completed`. */
export class EpisodeAlreadyCompleted extends Conflict {
  static override readonly code: string = "episode_already_completed";
}
/** 413 `payload_too_large`: the body exceeds the daemon's `max_body_bytes`. */
export class PayloadTooLarge extends MemorydError {
  static override readonly code: string = "payload_too_large";
}
/** 401 `unauthorized`: no token, or a token the daemon does not hold. */
export class Unauthorized extends MemorydError {
  static override readonly code: string = "unauthorized";
}
/** 403 `forbidden`: e.g. a browser `Origin`. */
export class Forbidden extends MemorydError {
  static override readonly code: string = "forbidden";
}
/** 429 `rate_limited`: over the token's rate limit; `retryAfterS` says when to retry. */
export class RateLimited extends MemorydError {
  static override readonly code: string = "rate_limited";
  /** Seconds the daemon asked to wait (`Retry-After`), if it said. */
  get retryAfterS(): number | undefined {
    const value = this.details["retry_after"];
    return typeof value === "number" ? value : undefined;
  }
}
/** 421 `store_mismatch`: the daemon serves another store than the data dir names. */
export class StoreMismatch extends MemorydError {
  static override readonly code: string = "store_mismatch";
}
/** 503 `backend_unavailable`: no daemon answers, or it is not ready. */
export class BackendUnavailable extends MemorydError {
  static override readonly code: string = "backend_unavailable";
}
/** 504 `timeout`: no answer within the client's timeout. */
export class Timeout extends MemorydError {
  static override readonly code: string = "timeout";
}
/** 507 `storage_full`: the disk (or the page limit) is full; reads go on. */
export class StorageFull extends MemorydError {
  static override readonly code: string = "storage_full";
}
/** 500 `storage_error`: the store failed for another reason. */
export class StorageError extends MemorydError {
  static override readonly code: string = "storage_error";
}
/** 503 `storage_corrupted`: the store file is damaged; restore from a backup. */
export class StoreCorrupted extends StorageError {
  static override readonly code: string = "storage_corrupted";
}
/** 503 `storage_read_only`: the store went fail-stop read-only after an I/O error. */
export class StorageReadOnly extends StorageError {
  static override readonly code: string = "storage_read_only";
}
/** 500 `config_error`: the daemon's or this client's configuration is wrong. */
export class ConfigError extends MemorydError {
  static override readonly code: string = "config_error";
}

const CLASSES: ReadonlyArray<typeof MemorydError> = [
  ValidationError,
  InvalidQuery,
  InvalidSeries,
  InvalidPath,
  PathOutsideRoot,
  NotFound,
  EpisodeNotFound,
  PatternNotFound,
  Conflict,
  IdConflict,
  DimensionMismatch,
  EpisodeAlreadyCompleted,
  PayloadTooLarge,
  Unauthorized,
  Forbidden,
  RateLimited,
  StoreMismatch,
  BackendUnavailable,
  Timeout,
  StorageFull,
  StorageError,
  StoreCorrupted,
  StorageReadOnly,
  ConfigError,
];

/** Error class for each stable code. */
export const ERROR_CLASSES: ReadonlyMap<string, typeof MemorydError> = new Map(
  CLASSES.map((cls) => [cls.code, cls]),
);

/** Codes the daemon uses for statuses that carry no memoryd body (proxies, old daemons). */
const STATUS_CODES: Readonly<Record<number, string>> = {
  400: "validation_error",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  421: "forbidden",
  422: "validation_error",
  429: "rate_limited",
  503: "backend_unavailable",
  504: "timeout",
  507: "storage_full",
};

/**
 * The typed error for a failed answer.
 *
 * @param status HTTP status.
 * @param body the parsed JSON body, or anything else (a proxy's text).
 * @returns an instance of the class for the body's `error.code` (or for the status).
 */
export function errorFromAnswer(status: number, body: unknown): MemorydError {
  const error =
    typeof body === "object" && body !== null && "error" in body
      ? (body as { error: unknown }).error
      : undefined;
  let code = STATUS_CODES[status] ?? "storage_error";
  let message = `HTTP ${status}`;
  let details: Record<string, unknown> = {};
  if (typeof error === "object" && error !== null) {
    const e = error as Record<string, unknown>;
    if (typeof e["code"] === "string") code = e["code"];
    if (typeof e["message"] === "string") message = e["message"];
    if (typeof e["details"] === "object" && e["details"] !== null) {
      details = e["details"] as Record<string, unknown>;
    }
  }
  const cls = ERROR_CLASSES.get(code) ?? MemorydError;
  return new cls(message, { code, status, details });
}

/**
 * The HTTP side of the client: base URL and token, per-request timeout,
 * `Retry-After` on 429, typed errors, and the store check before the first request.
 */

import { join } from "node:path";

import createClient, { type Client } from "openapi-fetch";

import {
  DEFAULT_PORT,
  defaultDataDir,
  fileId,
  pidAlive,
  readRuntime,
  readToken,
  urlOf,
} from "./discovery.js";
import {
  BackendUnavailable,
  MemorydError,
  RateLimited,
  StoreMismatch,
  Timeout,
  Unauthorized,
  errorFromAnswer,
} from "./errors.js";
import type { paths } from "./schema.js";

/** How to reach a daemon. Every field is optional: the defaults find this user's daemon. */
export interface ClientOptions {
  /** `http://host:port` of the daemon; default: `daemon.json` of the data dir, else `MEMORYD_HOST`/`MEMORYD_PORT` or 127.0.0.1:7077. */
  baseUrl?: string;
  /** The data dir whose daemon to use (default `MEMORYD_DATA_DIR` or the platform's user data dir). */
  dataDir?: string;
  /** Bearer token; default: the first token of `tokenFile`. */
  token?: string;
  /** Token file; default `MEMORYD_TOKEN_FILE` or `<dataDir>/token`. */
  tokenFile?: string;
  /** Per-request timeout in milliseconds (default 30,000, as `client_timeout_s`). */
  timeoutMs?: number;
  /** Longest total wait for 429 answers' `Retry-After`, in milliseconds (default 10,000, as `rate_limit_max_wait_s`). */
  rateLimitMaxWaitMs?: number;
  /** Before the first request, check that the daemon serves this data dir's store (default true). */
  verifyStore?: boolean;
  /** Largest request body in bytes (default 1 MiB, the daemon's `max_body_bytes`). */
  maxBodyBytes?: number;
}

/** Most random milliseconds added to a `Retry-After`, so waiting clients do not return together. */
const RETRY_JITTER_MS = 250;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds a `Retry-After` header asks for (delta-seconds only), or undefined. */
export function retryAfterS(value: string | null): number | undefined {
  if (value === null || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** The resolved connection: where, with which token, and whether the store is checked. */
export class Transport {
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly api: Client<paths>;
  private readonly token: string | undefined;
  private readonly rateLimitMaxWaitMs: number;
  private storeCheck: Promise<void> | undefined;

  private constructor(
    baseUrl: string,
    dataDir: string,
    token: string | undefined,
    options: ClientOptions,
    verify: boolean,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.dataDir = dataDir;
    this.token = token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.rateLimitMaxWaitMs = options.rateLimitMaxWaitMs ?? 10_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
    this.storeCheck = verify ? undefined : Promise.resolve();
    this.api = createClient<paths>({
      baseUrl: this.baseUrl,
      fetch: (request: Request) => this.send(request),
    });
  }

  /**
   * Resolve the options into a transport (reads `daemon.json` and the token file).
   *
   * The store is checked (lazily, before the first request) when `verifyStore`
   * is not false and the address came from the data dir (`daemon.json`) or
   * the data dir was named explicitly, and that data dir holds a store.
   *
   * @throws ConfigError a file of the data dir exists but cannot be read.
   */
  static async open(options: ClientOptions = {}): Promise<Transport> {
    const env = process.env;
    const explicitDir = options.dataDir ?? env["MEMORYD_DATA_DIR"];
    const dataDir = explicitDir ?? defaultDataDir(env);
    let baseUrl = options.baseUrl;
    let fromRuntime = false;
    if (baseUrl === undefined) {
      const info = await readRuntime(dataDir);
      if (info !== undefined && pidAlive(info.pid)) {
        baseUrl = urlOf(info.host, info.port);
        fromRuntime = true;
      } else {
        const port = Number(env["MEMORYD_PORT"] ?? DEFAULT_PORT);
        baseUrl = urlOf(env["MEMORYD_HOST"] ?? "127.0.0.1", port);
      }
    }
    const tokenFile = options.tokenFile ?? env["MEMORYD_TOKEN_FILE"] ?? join(dataDir, "token");
    const token = options.token ?? (await readToken(tokenFile));
    const hasStore = (await fileId(join(dataDir, "memoryd.db"))) !== undefined;
    const verify =
      options.verifyStore !== false && hasStore && (fromRuntime || explicitDir !== undefined);
    return new Transport(baseUrl, dataDir, token, options, verify);
  }

  /** Reject unless the daemon serves the store in `dataDir` (same database file). */
  private async checkStore(): Promise<void> {
    const response = await this.fetchOnce(new Request(`${this.baseUrl}/v1/identity`));
    const body: unknown = await response.json().catch(() => undefined);
    if (response.status === 401 || response.status === 403) {
      throw new Unauthorized(`the daemon at ${this.baseUrl} refused the token`, {
        status: response.status,
        details: { url: this.baseUrl },
      });
    }
    if (!response.ok) throw errorFromAnswer(response.status, body);
    const theirs = (body ?? {}) as { store_id?: unknown; file_id?: unknown };
    const ours = await fileId(join(this.dataDir, "memoryd.db"));
    if (theirs.file_id !== ours) {
      throw new StoreMismatch(
        `the daemon at ${this.baseUrl} does not serve the store in ${this.dataDir}` +
          ` (it serves store ${String(theirs.store_id)} in another file)`,
        { status: 421, details: { url: this.baseUrl, data_dir: this.dataDir } },
      );
    }
  }

  /** One request with the token and the timeout; network failures become typed errors. */
  private async fetchOnce(request: Request): Promise<Response> {
    const headers = new Headers(request.headers);
    if (this.token !== undefined) headers.set("authorization", `Bearer ${this.token}`);
    const sent = new Request(request, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    try {
      return await fetch(sent);
    } catch (err) {
      const name = (err as Error).name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new Timeout(`no answer from ${this.baseUrl} within ${this.timeoutMs} ms`, {
          status: 0,
          details: { url: this.baseUrl },
        });
      }
      throw new BackendUnavailable(`no memoryd daemon answers at ${this.baseUrl}`, {
        status: 0,
        details: { url: this.baseUrl, cause: String((err as Error).cause ?? err) },
      });
    }
  }

  /** The fetch openapi-fetch calls: store check once, then 429 retries within the budget. */
  private async send(request: Request): Promise<Response> {
    this.storeCheck ??= this.checkStore();
    try {
      await this.storeCheck;
    } catch (err) {
      this.storeCheck = undefined; // asked again on the next request
      throw err;
    }
    const deadline = Date.now() + this.rateLimitMaxWaitMs;
    for (;;) {
      const response = await this.fetchOnce(request.clone());
      const wait = retryAfterS(response.headers.get("retry-after"));
      if (response.status !== 429 || wait === undefined) return response;
      const pause = wait * 1000 + Math.random() * RETRY_JITTER_MS;
      if (Date.now() + pause > deadline) return response;
      await response.body?.cancel();
      await sleep(pause);
    }
  }

  /**
   * The result of an openapi-fetch call, or its typed error.
   *
   * @throws MemorydError (a subclass for the answer's code) on any non-2xx answer.
   */
  static unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
    if (result.response.ok) return result.data as T;
    const error = errorFromAnswer(result.response.status, result.error);
    if (error instanceof RateLimited && error.details["retry_after"] === undefined) {
      const wait = retryAfterS(result.response.headers.get("retry-after"));
      if (wait !== undefined) error.details["retry_after"] = wait;
    }
    throw error;
  }

  /** Groups of at most `limit` lines whose size (plus newlines) stays within the body limit. */
  *chunks(lines: Iterable<string>, limit: number): Generator<string[]> {
    let group: string[] = [];
    let size = 0;
    const budget = this.maxBodyBytes - 1024; // room for the JSON wrapper
    for (const line of lines) {
      const bytes = Buffer.byteLength(line) + 1;
      if (group.length > 0 && (group.length >= limit || size + bytes > budget)) {
        yield group;
        group = [];
        size = 0;
      }
      group.push(line);
      size += bytes;
    }
    if (group.length > 0) yield group;
  }
}

export { MemorydError };

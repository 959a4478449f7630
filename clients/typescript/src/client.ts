/**
 * `MemorydClient`: the operations of the Python `memoryd.Client`, over the daemon's REST API.
 *
 * Method names are the Python ones in camelCase (`kv_set` → `kvSet`); keyword
 * arguments become an options object; request and response shapes are the
 * OpenAPI document's (`src/schema.ts`, generated). Every method rejects with a
 * typed {@link MemorydError} subclass on failure.
 *
 * @example
 * const memory = await MemorydClient.connect();           // this user's daemon
 * await memory.add({ content: "Ann prefers green tea", tags: ["prefs"] });
 * const { hits } = await memory.search({ query: "what does Ann drink?", limit: 5 });
 */

import { type InNamespace, ns, unwrap } from "./base.js";
import { NotFound } from "./errors.js";
import { LearningClient } from "./learning.js";
import type { components } from "./schema.js";
import { type ClientOptions, Transport } from "./transport.js";

/** Every schema of the OpenAPI document, by name. */
export type Schemas = components["schemas"];
export type MemoryEntry = Schemas["MemoryEntry"];
export type MemoryInput = Schemas["MemoryInput"];
export type MemoryPatch = Schemas["MemoryPatch"];
export type Page = Schemas["Page"];
export type SearchParams = Schemas["SearchParams"];
export type SearchResult = Schemas["SearchResult"];
export type ContextRequest = Schemas["ContextRequest"];
export type PackedContext = Schemas["PackedContext"];
export type Kind = MemoryEntry["kind"];
export type Episode = Schemas["Episode"];
export type Pattern = Schemas["Pattern"];

/** Options of {@link MemorydClient.list}. */
export interface ListOptions extends InNamespace {
  kinds?: Kind[];
  sessionId?: string;
  tags?: string[];
  /** A metadata filter tree, e.g. `{and: [{field: "speaker", op: "eq", value: "Ann"}]}`. */
  filter?: Record<string, unknown>;
  /** 1..1000, default 50. */
  limit?: number;
  cursor?: string;
  includeSuperseded?: boolean;
}

/** A client of one memoryd daemon. Create it with {@link MemorydClient.connect}. */
export class MemorydClient extends LearningClient {

  /**
   * A client of the daemon of `options.dataDir` (or of `options.baseUrl`).
   *
   * @throws ConfigError a data-dir file exists but cannot be read.
   */
  static async connect(options: ClientOptions = {}): Promise<MemorydClient> {
    return new MemorydClient(await Transport.open(options));
  }

  /** `http://host:port` of the daemon. */
  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /** True when the daemon answers `/readyz` with 200 (false when it is opening, failed or away). */
  async ready(): Promise<boolean> {
    try {
      unwrap(await this.api.GET("/readyz"));
      return true;
    } catch {
      return false;
    }
  }

  /** Which store the daemon serves (`store_id`, `file_id`). */
  async identity(): Promise<Schemas["StoreIdentity"]> {
    return unwrap(await this.api.GET("/v1/identity"));
  }

  // --- memories -------------------------------------------------------------
  /** Save one memory; resolves to the stored entry (or the existing duplicate). */
  async add(input: MemoryInput | string): Promise<MemoryEntry> {
    const body = typeof input === "string" ? { content: input } : input;
    return unwrap(await this.api.POST("/v1/memories", { body }));
  }

  /** Save many memories, `batchSize` (≤ 1000) per request and within the body limit; input order. */
  async addMany(items: MemoryInput[], options: { batchSize?: number } = {}): Promise<MemoryEntry[]> {
    const limit = Math.max(1, Math.min(options.batchSize ?? 256, 1000));
    const out: MemoryEntry[] = [];
    const lines = items.map((item) => JSON.stringify(item));
    for (const group of this.transport.chunks(lines, limit)) {
      // The lines are serialised once (to size the batches); the typed body is a placeholder.
      const result = await this.api.POST("/v1/memories/batch", {
        body: { items: [] },
        bodySerializer: () => `{"items":[${group.join(",")}]}`,
      });
      out.push(...unwrap(result));
    }
    return out;
  }

  /** The entry `id`. Rejects with `NotFound`. */
  async get(id: string, options?: InNamespace): Promise<MemoryEntry> {
    return unwrap(
      await this.api.GET("/v1/memories/{id}", { params: { path: { id }, query: ns(options) } }),
    );
  }

  /** Change an entry in place (same id). Rejects with `NotFound`, `ValidationError`. */
  async update(id: string, patch: MemoryPatch, options?: InNamespace): Promise<MemoryEntry> {
    return unwrap(
      await this.api.PATCH("/v1/memories/{id}", {
        params: { path: { id }, query: ns(options) },
        body: patch,
      }),
    );
  }

  /** Delete an entry for good. Rejects with `NotFound`. */
  async delete(id: string, options?: InNamespace): Promise<void> {
    unwrap(
      await this.api.DELETE("/v1/memories/{id}", { params: { path: { id }, query: ns(options) } }),
    );
  }

  /** Replace `id` by a new entry kept in its history (fields not given come from the old entry). */
  async supersede(
    id: string,
    input: Partial<MemoryInput> & { content: string },
    options?: InNamespace,
  ): Promise<MemoryEntry> {
    return unwrap(
      await this.api.POST("/v1/memories/{id}/supersede", {
        params: { path: { id }, query: ns(options) },
        body: input as MemoryInput,
      }),
    );
  }

  /** The supersede chain containing `id`, oldest first. */
  async history(id: string, options?: InNamespace): Promise<MemoryEntry[]> {
    return unwrap(
      await this.api.GET("/v1/memories/{id}/history", {
        params: { path: { id }, query: ns(options) },
      }),
    );
  }

  /** A page of entries, newest first; pass `next_cursor` back as `cursor`. */
  async list(options: ListOptions = {}): Promise<Page> {
    const query = {
      ...ns(options),
      limit: options.limit ?? 50,
      include_superseded: options.includeSuperseded ?? false,
      ...(options.kinds?.length ? { kinds: options.kinds } : {}),
      ...(options.tags?.length ? { tags: options.tags } : {}),
      ...(options.sessionId !== undefined ? { session_id: options.sessionId } : {}),
      ...(options.cursor ? { cursor: options.cursor } : {}),
      ...(options.filter !== undefined ? { filter: JSON.stringify(options.filter) } : {}),
    };
    return unwrap(await this.api.GET("/v1/memories", { params: { query } }));
  }

  /** Search memories (hybrid BM25 + vectors by default); see the `SearchParams` schema. */
  async search(params: SearchParams | string): Promise<SearchResult> {
    const body = typeof params === "string" ? { query: params } : params;
    return unwrap(await this.api.POST("/v1/search", { body: body as SearchParams }));
  }

  /**
   * The best memories for a query packed into `budget_tokens` (the embedding model's tokens):
   * near-duplicates merged (every merged id cited), in reading order; see `PackedContext`.
   */
  async packContext(params: ContextRequest | string): Promise<PackedContext> {
    const body = typeof params === "string" ? { query: params } : params;
    return unwrap(await this.api.POST("/v1/search/context", { body: body as ContextRequest }));
  }

  /** Counts, sizes and index state of the daemon's store. */
  async stats(): Promise<Schemas["ServerStats"]> {
    return unwrap(await this.api.GET("/v1/stats"));
  }

  /** Erase a namespace, user or agent completely; resolves to the counts removed. */
  async forget(scope: Schemas["ForgetScope"]): Promise<Schemas["ForgetResult"]> {
    return unwrap(await this.api.POST("/v1/forget", { body: scope }));
  }

  /** Verify the daemon's store file now (integrity checks, checksums). */
  async verifyStorage(): Promise<Schemas["IntegrityReport"]> {
    return unwrap(await this.api.POST("/v1/storage/verify"));
  }

  // --- export / import ------------------------------------------------------
  /** Every entry (superseded included, expired excluded) with its vector, streamed as it arrives. */
  async *export(options: { namespace?: string } = {}): AsyncGenerator<MemoryEntry> {
    const query = options.namespace !== undefined ? { namespace: options.namespace } : {};
    const result = await this.api.POST("/v1/export", { params: { query }, parseAs: "stream" });
    const stream = unwrap(result) as ReadableStream<Uint8Array> | null;
    if (stream === null) return;
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line) yield JSON.parse(line) as MemoryEntry;
        newline = pending.indexOf("\n");
      }
    }
    pending += decoder.decode();
    if (pending.trim()) yield JSON.parse(pending) as MemoryEntry;
  }

  /** Restore exported entries losslessly (ids kept; existing ids skipped); resolves to the count inserted. */
  async importEntries(
    entries: Iterable<MemoryEntry> | AsyncIterable<MemoryEntry>,
    options: { batch?: number } = {},
  ): Promise<number> {
    const all: string[] = [];
    for await (const entry of entries) all.push(JSON.stringify(entry));
    let inserted = 0;
    for (const group of this.transport.chunks(all, Math.max(1, options.batch ?? 500))) {
      const result = await this.api.POST("/v1/import", {
        body: `${group.join("\n")}\n`,
        bodySerializer: (text: string) => text,
        headers: { "content-type": "application/x-ndjson" },
      });
      inserted += unwrap(result).inserted;
    }
    return inserted;
  }

  // --- conversations, state, key/value --------------------------------------
  /** Append one conversation turn to `sessionId`. */
  async append(
    sessionId: string,
    message: Schemas["MessageInput"] | string,
    options?: InNamespace,
  ): Promise<MemoryEntry> {
    const body = typeof message === "string" ? { content: message } : message;
    return unwrap(
      await this.api.POST("/v1/sessions/{session_id}/messages", {
        params: { path: { session_id: sessionId }, query: ns(options) },
        body: body as Schemas["MessageInput"],
      }),
    );
  }

  /** The last `n` turns of a session (default 10), oldest first. */
  async lastMessages(sessionId: string, n = 10, options?: InNamespace): Promise<MemoryEntry[]> {
    return unwrap(
      await this.api.GET("/v1/sessions/{session_id}/messages", {
        params: { path: { session_id: sessionId }, query: { ...ns(options), last: n } },
      }),
    );
  }

  /** Every turn of a session, oldest first. */
  async sessionMessages(sessionId: string, options?: InNamespace): Promise<MemoryEntry[]> {
    return unwrap(
      await this.api.GET("/v1/sessions/{session_id}/messages", {
        params: { path: { session_id: sessionId }, query: ns(options) },
      }),
    );
  }

  /** Save a JSON value under `(sessionId, key)`. */
  async setState(
    sessionId: string,
    key: string,
    value: unknown,
    options?: InNamespace,
  ): Promise<MemoryEntry> {
    return unwrap(
      await this.api.PUT("/v1/sessions/{session_id}/state/{key}", {
        params: { path: { session_id: sessionId, key }, query: ns(options) },
        body: { value },
      }),
    );
  }

  /** The value under `(sessionId, key)`; `options.default` if given and there is none, else `NotFound`. */
  async getState(
    sessionId: string,
    key: string,
    options: InNamespace & { default?: unknown } = {},
  ): Promise<unknown> {
    return this.valueOr(options, async () =>
      unwrap(
        await this.api.GET("/v1/sessions/{session_id}/state/{key}", {
          params: { path: { session_id: sessionId, key }, query: ns(options) },
        }),
      ),
    );
  }

  /** Delete a state value; `false` if there was none. */
  async deleteState(sessionId: string, key: string, options?: InNamespace): Promise<boolean> {
    const result = await this.api.DELETE("/v1/sessions/{session_id}/state/{key}", {
      params: { path: { session_id: sessionId, key }, query: ns(options) },
    });
    return unwrap(result).deleted;
  }

  /** Save a JSON value under `key`, optionally expiring after `ttlSeconds` (seconds). */
  async kvSet(
    key: string,
    value: unknown,
    options: InNamespace & { ttlSeconds?: number } = {},
  ): Promise<MemoryEntry> {
    return unwrap(
      await this.api.PUT("/v1/kv/{key}", {
        params: { path: { key }, query: ns(options) },
        body: { value, ttl_seconds: options.ttlSeconds ?? null },
      }),
    );
  }

  /** The value under `key`; `options.default` if given and there is none, else `NotFound`. */
  async kvGet(key: string, options: InNamespace & { default?: unknown } = {}): Promise<unknown> {
    return this.valueOr(options, async () =>
      unwrap(await this.api.GET("/v1/kv/{key}", { params: { path: { key }, query: ns(options) } })),
    );
  }

  /** Delete a key; `false` if there was none. */
  async kvDelete(key: string, options?: InNamespace): Promise<boolean> {
    const result = await this.api.DELETE("/v1/kv/{key}", {
      params: { path: { key }, query: ns(options) },
    });
    return unwrap(result).deleted;
  }

  private async valueOr(
    options: { default?: unknown },
    read: () => Promise<Schemas["ValueOut"]>,
  ): Promise<unknown> {
    try {
      return (await read()).value;
    } catch (err) {
      if (err instanceof NotFound && "default" in options) return options.default;
      throw err;
    }
  }
}

/** MemorydClient against a real daemon: every operation, typed errors, discovery and the store check. */

import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import {
  BackendUnavailable,
  EpisodeNotFound,
  IdConflict,
  MemorydClient,
  MemorydError,
  NotFound,
  StoreMismatch,
  Unauthorized,
  ValidationError,
  readToken,
} from "../src/index.js";
import { type Daemon, startDaemon } from "./daemon.js";

let daemon: Daemon;
let memory: MemorydClient;

before(async () => {
  daemon = await startDaemon();
  memory = await MemorydClient.connect({ dataDir: daemon.dataDir });
});

after(async () => {
  await daemon?.stop();
});

async function rejectsWith(promise: Promise<unknown>, cls: Function, code: string, status: number) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    assert.ok(err instanceof MemorydError);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  });
}

describe("discovery", () => {
  it("finds the daemon of a data dir through daemon.json and its token file", async () => {
    assert.equal(memory.baseUrl, daemon.url);
    assert.equal(await readToken(join(daemon.dataDir, "token")), daemon.token);
    assert.equal(await memory.ready(), true);
    const identity = await memory.identity();
    assert.match(identity.store_id, /^[0-9a-f-]{36}$/);
  });

  it("refuses a daemon that serves another copy of the store (StoreMismatch)", async () => {
    const copy = await mkdtemp(join(tmpdir(), "memoryd-ts-copy-"));
    try {
      for (const name of ["memoryd.db", "daemon.json", "token"]) {
        await copyFile(join(daemon.dataDir, name), join(copy, name));
      }
      const other = await MemorydClient.connect({ dataDir: copy });
      assert.equal(other.baseUrl, daemon.url); // the copied daemon.json names the same daemon
      await rejectsWith(other.list(), StoreMismatch, "store_mismatch", 421);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it("rejects a wrong token with Unauthorized and an absent daemon with BackendUnavailable", async () => {
    const wrong = await MemorydClient.connect({ baseUrl: daemon.url, token: "x".repeat(43) });
    await rejectsWith(wrong.stats(), Unauthorized, "unauthorized", 401);
    const away = await MemorydClient.connect({ baseUrl: "http://127.0.0.1:9", token: "t" });
    await rejectsWith(away.stats(), BackendUnavailable, "backend_unavailable", 0);
    assert.equal(await away.ready(), false);
  });
});

describe("memories", () => {
  it("adds, reads, updates, supersedes, lists, searches and deletes", async () => {
    const fact = await memory.add({ content: "Ann prefers green tea", tags: ["prefs"], importance: 0.8 });
    assert.equal(fact.kind, "memory");
    assert.equal((await memory.get(fact.id)).content, "Ann prefers green tea");
    const same = await memory.add("Ann prefers green tea");
    assert.equal(same.id, fact.id, "identical text in a namespace is one entry");

    const updated = await memory.update(fact.id, { tags: ["prefs", "drinks"] });
    assert.deepEqual(updated.tags, ["prefs", "drinks"]);
    const newer = await memory.supersede(fact.id, { content: "Ann switched to coffee" });
    const chain = await memory.history(newer.id);
    assert.deepEqual(
      chain.map((e) => e.content),
      ["Ann prefers green tea", "Ann switched to coffee"],
    );
    assert.deepEqual((await memory.history(newer.id)).map((e) => e.id), [fact.id, newer.id]);

    // supersede keeps the old entry's tags: newest first, the superseded one included on request
    const page = await memory.list({ tags: ["drinks"], includeSuperseded: true });
    assert.deepEqual(page.items.map((e) => e.id), [newer.id, fact.id]);
    const current = await memory.list({ kinds: ["memory"] });
    assert.ok(current.items.some((e) => e.id === newer.id));
    assert.ok(!current.items.some((e) => e.id === fact.id), "superseded entries are left out");

    const result = await memory.search({ query: "what does Ann drink?", limit: 5 });
    assert.equal(result.hits[0]?.entry.id, newer.id);
    const keyword = await memory.search({ query: "coffee", mode: "keyword" });
    assert.deepEqual(keyword.hits.map((h) => h.entry.id), [newer.id]);
    const packed = await memory.packContext({ query: "what does Ann drink?", budget_tokens: 16 });
    assert.deepEqual(packed.snippets.map((s) => s.ids[0]), [newer.id]);
    assert.ok(packed.tokens_used <= 16 && packed.budget_tokens === 16);

    await memory.delete(newer.id);
    await rejectsWith(memory.get(newer.id), NotFound, "not_found", 404);
    await rejectsWith(memory.delete(newer.id), NotFound, "not_found", 404);
  });

  it("keeps namespaces apart and filters by metadata", async () => {
    const a = await memory.add({ content: "the build uses make", namespace: "team-a", metadata: { speaker: "Bo" } });
    await memory.add({ content: "the build uses ninja", namespace: "team-b", metadata: { speaker: "Cy" } });
    await rejectsWith(memory.get(a.id, { namespace: "team-b" }), NotFound, "not_found", 404);
    const filtered = await memory.list({
      namespace: "team-a",
      filter: { and: [{ field: "speaker", op: "eq", value: "Bo" }] },
    });
    assert.deepEqual(filtered.items.map((e) => e.id), [a.id]);
    const none = await memory.list({ namespace: "team-a", filter: { field: "speaker", op: "eq", value: "Cy" } });
    assert.equal(none.items.length, 0);
  });

  it("pages with a cursor and adds many in batches, in input order", async () => {
    const texts = Array.from({ length: 25 }, (_, i) => `batch note number ${i} about item ${i * 7}`);
    const saved = await memory.addMany(
      texts.map((content) => ({ content, namespace: "batch" })),
      { batchSize: 10 },
    );
    assert.deepEqual(saved.map((e) => e.content), texts);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await memory.list({ namespace: "batch", limit: 10, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    assert.deepEqual(new Set(seen), new Set(saved.map((e) => e.id)));
    assert.equal(seen.length, 25);
  });

  it("answers bad input and taken ids with typed errors, storing nothing", async () => {
    await rejectsWith(memory.list({ limit: 0 }), ValidationError, "validation_error", 422);
    await rejectsWith(memory.add({ content: "" }), ValidationError, "validation_error", 422);
    const taken = await memory.add({ content: "first text", namespace: "ids" });
    await rejectsWith(
      memory.add({ content: "another text", namespace: "ids", id: taken.id }),
      IdConflict,
      "id_conflict",
      409,
    );
    assert.equal((await memory.get(taken.id, { namespace: "ids" })).content, "first text");
  });

  it("exports with vectors and imports losslessly", async () => {
    const kept = await memory.add({ content: "exported fact about Lisbon", namespace: "io" });
    const exported = [];
    for await (const entry of memory.export({ namespace: "io" })) exported.push(entry);
    assert.deepEqual(exported.map((e) => e.id), [kept.id]);
    assert.equal(exported[0]?.vector?.length, 384);
    await memory.delete(kept.id, { namespace: "io" });
    assert.equal(await memory.importEntries(exported), 1);
    assert.equal(await memory.importEntries(exported), 0, "an existing id is skipped");
    assert.equal((await memory.get(kept.id, { namespace: "io" })).content, kept.content);
  });

  it("forgets a namespace and reports the counts", async () => {
    await memory.add({ content: "to be forgotten", namespace: "gone" });
    await memory.kvSet("k", 1, { namespace: "gone" });
    const result = await memory.forget({ namespace: "gone" });
    assert.deepEqual(result.memories, { memory: 1, kv: 1 });
    assert.equal((await memory.list({ namespace: "gone" })).items.length, 0);
  });

  it("reports stats and verifies the store", async () => {
    const stats = await memory.stats();
    assert.ok((stats.total ?? 0) > 0);
    assert.equal(stats.index_ready, true);
    const report = await memory.verifyStorage();
    assert.equal(report.ok, true);
  });
});

describe("conversations, state and key/value", () => {
  it("appends turns and reads the last ones, oldest first", async () => {
    for (const [i, text] of ["hi", "I moved to Lisbon", "last spring"].entries()) {
      await memory.append("chat-1", { content: text, role: i % 2 ? "assistant" : "ann" });
    }
    const last = await memory.lastMessages("chat-1", 2);
    assert.deepEqual(last.map((m) => m.content), ["I moved to Lisbon", "last spring"]);
    assert.equal((await memory.sessionMessages("chat-1")).length, 3);
  });

  it("sets, reads and deletes state and keys, with defaults", async () => {
    await memory.setState("chat-1", "step", 3);
    assert.equal(await memory.getState("chat-1", "step"), 3);
    assert.equal(await memory.deleteState("chat-1", "step"), true);
    assert.equal(await memory.deleteState("chat-1", "step"), false);
    assert.equal(await memory.getState("chat-1", "step", { default: null }), null);
    await rejectsWith(memory.getState("chat-1", "step"), NotFound, "not_found", 404);

    await memory.kvSet("theme/ui", { mode: "dark" }, { ttlSeconds: 3600 });
    assert.deepEqual(await memory.kvGet("theme/ui"), { mode: "dark" });
    assert.equal(await memory.kvDelete("theme/ui"), true);
    assert.equal(await memory.kvGet("theme/ui", { default: "light" }), "light");
  });
});

describe("learning", () => {
  it("records an episode, completes it and reads it back", async () => {
    const episode = await memory.startEpisode({
      task_description: "fix the failing login test",
      domain: "web",
      task_type: "debugging",
    });
    assert.equal(episode.status, "running");
    const step = await memory.logStep(episode.id, {
      tool: "pytest",
      action: "run the login test",
      result: { status: "success", output: "1 passed" },
      tokens: 120,
    });
    assert.equal(step.tool, "pytest");
    await memory.checkpointEpisode(episode.id, { note: "test passes locally" });
    const done = await memory.completeEpisode(episode.id, {
      outcome: { type: "success", verdict: "login test fixed" },
    });
    assert.equal(done.episode.status, "completed");
    const read = await memory.getEpisode(episode.id, { includeSteps: true });
    assert.equal(read.steps?.length, 1);
    const page = await memory.listEpisodes({ domain: "web" });
    assert.deepEqual(page.items.map((e) => e.id), [episode.id]);
    const context = await memory.retrieveContext({ task: "login test fails again", domain: "web" });
    assert.ok(context.episodes.some((m) => m.episode.id === episode.id));
    await memory.deleteEpisode(episode.id);
    await rejectsWith(memory.getEpisode(episode.id), EpisodeNotFound, "episode_not_found", 404);
  });

  it("lists, analyses and decays patterns and analyses a series", async () => {
    assert.ok(Array.isArray(await memory.listPatterns()));
    assert.ok(Array.isArray(await memory.recommendPatterns({ task: "deploy the web app" })));
    assert.ok(Array.isArray(await memory.searchPatterns({ query: "deploy" })));
    const report = await memory.extractPatterns({});
    assert.equal(typeof report.patterns_created, "number");
    const analysis = await memory.analyzePatterns({});
    assert.equal(typeof analysis.count, "number");
    const decay = await memory.decayPatterns({});
    assert.ok(Array.isArray(decay.archived));
    const trend = await memory.advancedPatternAnalysis({
      kind: "trend",
      series: { reward: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] },
    });
    assert.equal(trend.kind, "trend");
  });
});

describe("coverage", () => {
  it("has a method for every REST operation of the OpenAPI document", async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const pkg = resolve(here, "..", "..");
    const document = JSON.parse(await readFile(join(pkg, "openapi.json"), "utf-8")) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const sources = (
      await Promise.all(
        ["client.ts", "learning.ts"].map((f) => readFile(join(pkg, "src", f), "utf-8")),
      )
    ).join("\n");
    const operational = new Set(["/healthz", "/metrics"]); // probes and scraping, not operations
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(document.paths)) {
      if (operational.has(path)) continue;
      for (const method of Object.keys(methods)) {
        const call = `this.api.${method.toUpperCase()}("${path}"`;
        if (!sources.includes(call)) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});

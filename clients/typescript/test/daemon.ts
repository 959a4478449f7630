/**
 * A real `memoryd serve` for the tests: a new data dir, port 0 (the daemon picks a free
 * loopback port and names it in `daemon.json`), stopped with SIGTERM.
 *
 * `MEMORYD_BIN` is the memoryd executable (default: the repo's `.venv/bin/memoryd`).
 * `MEMORYD_MODEL_CACHE_DIR` is where the exported model is kept (default
 * `.cache/models` in this package, so the export happens once per checkout).
 * Waits are budgets for a busy 2-core machine, times `MEMORYD_TEST_TIMEOUT_SCALE`.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const REPO_DIR = resolve(PACKAGE_DIR, "..", "..");
const SCALE = Number(process.env["MEMORYD_TEST_TIMEOUT_SCALE"] ?? "1") || 1;

/** `seconds` (sized for load 8 on 2 cores) times the scale, in milliseconds. */
export function budgetMs(seconds: number): number {
  return seconds * SCALE * 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `condition` until it returns a value other than undefined, or fail after `ms`. */
export async function waitFor<T>(
  what: string,
  ms: number,
  condition: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A running daemon and its data dir. */
export interface Daemon {
  dataDir: string;
  url: string;
  token: string;
  process: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** Start `memoryd serve` on a new data dir and wait until `/readyz` answers 200. */
export async function startDaemon(): Promise<Daemon> {
  const dataDir = await mkdtemp(join(tmpdir(), "memoryd-ts-"));
  // An empty config file, so no config on this machine reaches the daemon; a missing
  // MEMORYD_CONFIG is an error (invalid_path), as a user's typo would be.
  const configDir = await mkdtemp(join(tmpdir(), "memoryd-ts-config-"));
  const configFile = join(configDir, "config.toml");
  await writeFile(configFile, "", { mode: 0o600 });
  const bin = process.env["MEMORYD_BIN"] ?? join(REPO_DIR, ".venv", "bin", "memoryd");
  const env = {
    ...process.env,
    HF_HUB_OFFLINE: "1",
    MEMORYD_CONFIG: configFile,
    MEMORYD_MODEL_CACHE_DIR:
      process.env["MEMORYD_MODEL_CACHE_DIR"] ?? join(PACKAGE_DIR, ".cache", "models"),
  };
  const child = spawn(bin, ["serve", "--data-dir", dataDir, "--port", "0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await waitFor("daemon.json", budgetMs(180), async () => {
    if (child.exitCode !== null) throw new Error(`memoryd serve exited ${child.exitCode}:\n${output}`);
    try {
      const info = JSON.parse(await readFile(join(dataDir, "daemon.json"), "utf-8")) as {
        host: string;
        port: number;
      };
      return `http://${info.host}:${info.port}`;
    } catch {
      return undefined; // not written yet
    }
  });
  const token = (await readFile(join(dataDir, "token"), "utf-8")).trim();
  await waitFor("/readyz 200", budgetMs(180), async () => {
    if (child.exitCode !== null) throw new Error(`memoryd serve exited ${child.exitCode}:\n${output}`);
    try {
      const headers = { authorization: `Bearer ${token}` };
      return (await fetch(`${url}/readyz`, { headers })).status === 200 ? true : undefined;
    } catch {
      return undefined; // listening socket not open yet
    }
  });
  return {
    dataDir,
    url,
    token,
    process: child,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      await rm(dataDir, { recursive: true, force: true });
      await rm(configDir, { recursive: true, force: true });
    },
  };
}

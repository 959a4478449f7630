/**
 * Finding this data dir's daemon, as `memoryd.Client` does.
 *
 * A data dir holds `daemon.json` (where its running daemon listens), `token`
 * (the bearer tokens, first line used) and `memoryd.db` (the store). A port
 * says nothing about which store answers there, so before sending anything
 * the client asks the daemon which store it serves (`GET /v1/identity`) and
 * compares the database file it names (`file_id`, `"<st_dev>:<st_ino>"`)
 * with this data dir's `memoryd.db`: a copy of the store, another store, or
 * a stale `daemon.json` whose port another daemon took all answer with
 * another file id (`StoreMismatch`).
 */

import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

import { ConfigError } from "./errors.js";

/** Port of a daemon started with default settings (`memoryd.config.DEFAULT_PORT`). */
export const DEFAULT_PORT = 7077;

/** What `<data_dir>/daemon.json` says about the running daemon. */
export interface RuntimeInfo {
  pid: number;
  host: string;
  port: number;
  store_id?: string | null;
}

/**
 * The default data dir, as platformdirs' `user_data_dir("memoryd")` gives it.
 *
 * `MEMORYD_DATA_DIR` wins; then Linux `$XDG_DATA_HOME/memoryd` or
 * `~/.local/share/memoryd`, macOS `~/Library/Application Support/memoryd`,
 * Windows `%LOCALAPPDATA%\memoryd\memoryd`.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["MEMORYD_DATA_DIR"]) return env["MEMORYD_DATA_DIR"];
  if (process.platform === "darwin") {
    return join(homedir(), "Library", "Application Support", "memoryd");
  }
  if (process.platform === "win32") {
    const base = env["LOCALAPPDATA"] ?? join(homedir(), "AppData", "Local");
    return join(base, "memoryd", "memoryd");
  }
  const xdg = env["XDG_DATA_HOME"];
  return join(xdg && xdg.startsWith("/") ? xdg : join(homedir(), ".local", "share"), "memoryd");
}

/** `http://host:port`, IPv6 hosts bracketed. */
export function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf-8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, {
      details: { path },
    });
  }
}

/**
 * The token a client sends: the first token of the token file (format of
 * `memoryd.tokens`: `#` comments, blank lines, bare `TOKEN` or `ID:TOKEN`).
 *
 * @returns the token, or `undefined` when the file does not exist or is empty.
 * @throws ConfigError the file cannot be read.
 */
export async function readToken(path: string): Promise<string | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    return colon >= 0 ? line.slice(colon + 1) : line;
  }
  return undefined;
}

/**
 * `<dataDir>/daemon.json`, if present and well formed.
 *
 * @throws ConfigError the file exists but cannot be read.
 */
export async function readRuntime(dataDir: string): Promise<RuntimeInfo | undefined> {
  const text = await readText(join(dataDir, "daemon.json"));
  if (text === undefined) return undefined;
  try {
    const info = JSON.parse(text) as Partial<RuntimeInfo>;
    if (typeof info.host === "string" && typeof info.port === "number") {
      return info as RuntimeInfo;
    }
  } catch {
    // A file cut short by a crash names no daemon: the same as no file.
  }
  return undefined;
}

/** True when a process with this pid exists (signal 0 probes without signalling). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `"<st_dev>:<st_ino>"` of a file (symlinks followed), as `memoryd.store.identity.file_id`. */
export async function fileId(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

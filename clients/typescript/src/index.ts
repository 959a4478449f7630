/** memoryd's TypeScript client: `MemorydClient`, its options, the typed errors and the schema types. */

export type { InNamespace } from "./base.js";
export * from "./client.js";
export * from "./discovery.js";
export * from "./errors.js";
export type { EpisodeListOptions, PatternListOptions } from "./learning.js";
export type { components, operations, paths } from "./schema.js";
export { type ClientOptions, Transport, retryAfterS } from "./transport.js";

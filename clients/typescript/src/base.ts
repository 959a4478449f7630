/** What every part of the client shares: the transport and the namespace option. */

import type { Client } from "openapi-fetch";

import type { paths } from "./schema.js";
import { Transport } from "./transport.js";

/** The namespace option most operations take (default `"default"`). */
export interface InNamespace {
  namespace?: string;
}

/** `{namespace}` for a query string, `"default"` when not given. */
export function ns(options?: InNamespace): { namespace: string } {
  return { namespace: options?.namespace ?? "default" };
}

/** Unwrap an openapi-fetch result or throw its typed error (see {@link Transport.unwrap}). */
export const unwrap = Transport.unwrap;

/** Holds the transport; the operation classes build on it. */
export abstract class ClientBase {
  /** The transport (address, token, timeouts) this client uses. */
  readonly transport: Transport;

  protected constructor(transport: Transport) {
    this.transport = transport;
  }

  /** The typed openapi-fetch client of the daemon's REST API. */
  protected get api(): Client<paths> {
    return this.transport.api;
  }
}

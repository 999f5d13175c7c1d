import type { Aeriox } from "./client.ts";

/** Base of every resource: holds the client that owns configuration and transport. */
export abstract class APIResource {
  constructor(protected readonly client: Aeriox) {}
}

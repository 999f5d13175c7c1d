/**
 * Resolved credentials, remembered for at most `ttlMs` (default 1 s) per process, so
 * the hot path does not look its key up in the database on every request
 * (docs/ARCHITECTURE.md, Access). The bound is the promise: a key revoked or rotated
 * out on any process fails on every process within `ttlMs`, with no message bus to
 * lose. Revocation in this process forgets the key at once; an entry never outlives
 * the credential's own expiry (a rotated key's grace period, a token's `exp`).
 *
 * Concurrent misses of one credential share one lookup (`load`): when an entry lapses under
 * load, every request in flight for that key used to read it from the database at once (50
 * connections: 50 reads a second per key, the poll's p99 in seconds on the embedded database).
 * A lookup that was running when this process forgot keys is neither shared further nor cached.
 */
import { createHash } from "node:crypto";
import type { Principal } from "./principal.ts";

export interface CredentialCache {
  get(credential: string): Principal | null | undefined;
  /** `null` caches a refusal too: a flood of bad keys costs no database reads. */
  set(credential: string, principal: Principal | null, expiresAt?: Date | null): void;
  /**
   * The cached principal, or `lookup`'s (then cached with the expiry it reports): concurrent
   * callers for one credential share one lookup.
   */
  load(credential: string, lookup: () => Promise<{ principal: Principal; expiresAt: Date | null } | null>): Promise<Principal | null>;
  /** Forgets every entry of this key (revoked or rotated here). */
  forgetKey(apiKeyId: string): void;
  /** Forgets every OAuth access token: a revocation names a token or family, which entries do not carry. */
  forgetOAuth(): void;
}

interface Entry {
  principal: Principal | null;
  until: number;
}

export function createCredentialCache(options: { ttlMs: number; maxEntries?: number }): CredentialCache {
  const entries = new Map<string, Entry>();
  /** Lookups running now, by hashed credential. */
  const inflight = new Map<string, Promise<Principal | null>>();
  /** Bumped by every forget: a lookup started before it may have read the row before the revocation. */
  let generation = 0;
  const maxEntries = options.maxEntries ?? 10_000;
  // Hashed so the map holds no usable secret.
  const id = (credential: string) => createHash("sha256").update(credential).digest("base64url");
  const read = (key: string): Principal | null | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.principal;
  };
  const store = (key: string, principal: Principal | null, expiresAt?: Date | null) => {
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!); // oldest first
    const until = Math.min(Date.now() + options.ttlMs, expiresAt ? expiresAt.getTime() : Number.POSITIVE_INFINITY);
    entries.set(key, { principal, until });
  };
  const forgotten = () => {
    generation++;
    inflight.clear();
  };
  return {
    get(credential) {
      if (options.ttlMs <= 0) return undefined;
      return read(id(credential));
    },
    set(credential, principal, expiresAt) {
      if (options.ttlMs <= 0) return;
      store(id(credential), principal, expiresAt);
    },
    load(credential, lookup) {
      if (options.ttlMs <= 0) return lookup().then((resolved) => resolved?.principal ?? null);
      const key = id(credential);
      const cached = read(key);
      if (cached !== undefined) return Promise.resolve(cached);
      const running = inflight.get(key);
      if (running) return running;
      const startedIn = generation;
      const done = lookup().then(
        (resolved) => {
          if (inflight.get(key) === done) inflight.delete(key);
          if (startedIn === generation) store(key, resolved?.principal ?? null, resolved?.expiresAt);
          return resolved?.principal ?? null;
        },
        (err: unknown) => {
          if (inflight.get(key) === done) inflight.delete(key);
          throw err;
        },
      );
      inflight.set(key, done);
      return done;
    },
    forgetKey(apiKeyId) {
      forgotten();
      for (const [key, entry] of entries) if (entry.principal?.apiKeyId === apiKeyId) entries.delete(key);
    },
    forgetOAuth() {
      forgotten();
      for (const [key, entry] of entries) if (entry.principal?.kind === "oauth") entries.delete(key);
    },
  };
}

/**
 * Resolved credentials, remembered for at most `ttlMs` (default 1 s) per process, so
 * the hot path does not look its key up in the database on every request
 * (docs/ARCHITECTURE.md, Access). The bound is the promise: a key revoked or rotated
 * out on any process fails on every process within `ttlMs`, with no message bus to
 * lose. Revocation in this process forgets the key at once; an entry never outlives
 * the credential's own expiry (a rotated key's grace period, a token's `exp`).
 */
import { createHash } from "node:crypto";
import type { Principal } from "./principal.ts";

export interface CredentialCache {
  get(credential: string): Principal | null | undefined;
  /** `null` caches a refusal too: a flood of bad keys costs no database reads. */
  set(credential: string, principal: Principal | null, expiresAt?: Date | null): void;
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
  const maxEntries = options.maxEntries ?? 10_000;
  // Hashed so the map holds no usable secret.
  const id = (credential: string) => createHash("sha256").update(credential).digest("base64url");
  return {
    get(credential) {
      if (options.ttlMs <= 0) return undefined;
      const key = id(credential);
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.principal;
    },
    set(credential, principal, expiresAt) {
      if (options.ttlMs <= 0) return;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!); // oldest first
      const until = Math.min(Date.now() + options.ttlMs, expiresAt ? expiresAt.getTime() : Number.POSITIVE_INFINITY);
      entries.set(id(credential), { principal, until });
    },
    forgetKey(apiKeyId) {
      for (const [key, entry] of entries) if (entry.principal?.apiKeyId === apiKeyId) entries.delete(key);
    },
    forgetOAuth() {
      for (const [key, entry] of entries) if (entry.principal?.kind === "oauth") entries.delete(key);
    },
  };
}

/** The credential cache's shared lookups: one read for concurrent misses, none cached across a forget. */
import { describe, expect, it } from "vitest";
import { createCredentialCache } from "../../src/auth/credential-cache.ts";
import type { Principal } from "../../src/auth/principal.ts";

const principal: Principal = { kind: "api_key", workspaceId: "w", apiKeyId: "k1", keyPrefix: "sk_x", scopes: ["read"], dailySpendCapMicros: null, clientId: null };

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("CredentialCache.load", () => {
  it("shares one lookup among concurrent misses of a credential, then answers from the cache", async () => {
    const cache = createCredentialCache({ ttlMs: 1000 });
    let lookups = 0;
    const gate = deferred<{ principal: Principal; expiresAt: Date | null }>();
    const lookup = () => (lookups++, gate.promise);
    const answers = Promise.all(Array.from({ length: 50 }, () => cache.load("sk_secret", lookup)));
    gate.resolve({ principal, expiresAt: null });
    expect(await answers).toEqual(Array.from({ length: 50 }, () => principal));
    expect(await cache.load("sk_secret", lookup)).toEqual(principal);
    expect(lookups).toBe(1);
  });

  it("caches a refusal, and a failed lookup is not cached (the next call looks again)", async () => {
    const cache = createCredentialCache({ ttlMs: 1000 });
    let lookups = 0;
    expect(await cache.load("sk_bad", async () => (lookups++, null))).toBeNull();
    expect(await cache.load("sk_bad", async () => (lookups++, null))).toBeNull();
    expect(lookups).toBe(1);
    await expect(cache.load("sk_down", async () => Promise.reject(new Error("db down")))).rejects.toThrow("db down");
    expect(await cache.load("sk_down", async () => ({ principal, expiresAt: null }))).toEqual(principal);
  });

  it("a lookup running when the key is forgotten (revoked here) is neither shared further nor cached", async () => {
    const cache = createCredentialCache({ ttlMs: 60_000 });
    const gate = deferred<{ principal: Principal; expiresAt: Date | null }>();
    const before = cache.load("sk_secret", () => gate.promise);
    cache.forgetKey("k1");
    let after = 0;
    const next = cache.load("sk_secret", async () => (after++, null)); // the row now says revoked
    gate.resolve({ principal, expiresAt: null }); // read before the revocation
    expect(await before).toEqual(principal);
    expect(await next).toBeNull();
    expect(await cache.load("sk_secret", async () => (after++, null))).toBeNull();
    expect(after).toBe(1);
  });

  it("never outlives the credential's expiry, and with ttl 0 always looks up", async () => {
    const expiring = createCredentialCache({ ttlMs: 60_000 });
    let lookups = 0;
    const expiresAt = new Date(Date.now() + 30);
    await expiring.load("sk_rotated", async () => (lookups++, { principal, expiresAt }));
    await new Promise((r) => setTimeout(r, 60));
    await expiring.load("sk_rotated", async () => (lookups++, null));
    expect(lookups).toBe(2);
    const off = createCredentialCache({ ttlMs: 0 });
    let offLookups = 0;
    await off.load("sk_x", async () => (offLookups++, { principal, expiresAt: null }));
    await off.load("sk_x", async () => (offLookups++, { principal, expiresAt: null }));
    expect(offLookups).toBe(2);
  });
});

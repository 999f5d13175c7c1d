import { describe, expect, it } from "vitest";
import {
  AerioxError, AuthenticationError, BadRequestError, ConflictError, InsufficientFundsError, InternalServerError,
  NotFoundError, PermissionDeniedError, RateLimitError, UnprocessableEntityError, Aeriox,
} from "../src/index.ts";
import { apiError, BASE_URL, http, HttpResponse, makeClient, server, url, useMsw } from "./helpers.ts";

useMsw();

const cases = [
  [400, "validation_failed", BadRequestError],
  [401, "invalid_api_key", AuthenticationError],
  [402, "insufficient_funds", InsufficientFundsError],
  [403, "insufficient_scope", PermissionDeniedError],
  [404, "not_found", NotFoundError],
  [409, "key_already_rotated", ConflictError],
  [422, "prompt_blocked", UnprocessableEntityError],
  [429, "rate_limited", RateLimitError],
  [500, "internal_error", InternalServerError],
  [503, "circuit_open", InternalServerError],
] as const;

describe("errors", () => {
  it.each(cases)("%i %s → %o", async (status, code, Cls) => {
    server.use(http.get(url("/v1/wallet"), () => apiError(status, code, `msg ${code}`, { details: { field: "limit" } })));
    const err = await makeClient({ maxRetries: 0 }).wallet.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Cls);
    expect(err).toBeInstanceOf(AerioxError);
    expect(err).toMatchObject({ status, code, message: `msg ${code}`, details: { field: "limit" }, requestId: `req_${status}` });
  });

  it("RateLimitError carries retry-after seconds", async () => {
    server.use(http.get(url("/v1/wallet"), () => apiError(429, "rate_limited", "slow down", { headers: { "retry-after": "7" } })));
    const err = await makeClient({ maxRetries: 0 }).wallet.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfter).toBe(7);
  });

  it("tolerates a non-JSON error body", async () => {
    server.use(http.get(url("/v1/models"), () => new HttpResponse("bad gateway", { status: 502 })));
    const err = await makeClient({ maxRetries: 0 }).models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err).toMatchObject({ status: 502, code: undefined, message: "bad gateway" });
  });

  it("sends the key as a Bearer token", async () => {
    let auth: string | null = null;
    server.use(http.get(url("/v1/me"), ({ request }) => {
      auth = request.headers.get("authorization");
      return HttpResponse.json({ workspace: {}, api_key: {} });
    }));
    await makeClient().me();
    expect(auth).toBe("Bearer sk_live_test_0123456789");
  });

  it("a missing key fails only calls that need auth, before any request", async () => {
    const client = new Aeriox({ apiKey: undefined, baseUrl: BASE_URL });
    server.use(http.get(url("/v1/pricing"), ({ request }) => {
      expect(request.headers.get("authorization")).toBeNull();
      return HttpResponse.json({ currency: "USD", micros_per_unit: 1_000_000, operations: [], generated_at: "2026-11-29T00:00:00Z" });
    }));
    await expect(client.pricing.get()).resolves.toMatchObject({ currency: "USD" });
    // no handler for /v1/wallet: reaching the network would fail with onUnhandledRequest=error instead
    await expect(client.wallet.get()).rejects.toThrow(AuthenticationError);
    await expect(client.wallet.get()).rejects.toThrow(/AERIOX_API_KEY/);
  });

  it("reads AERIOX_API_KEY and AERIOX_BASE_URL from the environment", () => {
    const saved = { ...process.env };
    process.env.AERIOX_API_KEY = "sk_live_env";
    process.env.AERIOX_BASE_URL = "http://env.example:9000/";
    try {
      const c = new Aeriox();
      expect(c.apiKey).toBe("sk_live_env");
      expect(c.baseUrl).toBe("http://env.example:9000");
    } finally {
      process.env = saved;
    }
    delete process.env.AERIOX_BASE_URL;
    expect(new Aeriox({ apiKey: "x" }).baseUrl).toBe("http://localhost:8080");
  });
});

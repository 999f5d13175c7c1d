import { describe, expect, it } from "vitest";
import { delay } from "msw";
import { APIConnectionError, APITimeoutError, BadRequestError, ConflictError, InternalServerError } from "../src/index.ts";
import { apiError, http, HttpResponse, job, makeClient, server, url, useMsw } from "./helpers.ts";
import { isRetryable, retryDelayMs } from "../src/transport.ts";

useMsw();

const body = { model: "local/image", prompt: "a red fox" };

/** Records each attempt's Idempotency-Key and answers from `responses` in order. */
function sequence(path: string, responses: Array<() => Response>) {
  const keys: Array<string | null> = [];
  server.use(http.post(url(path), ({ request }) => {
    keys.push(request.headers.get("idempotency-key"));
    return responses[Math.min(keys.length - 1, responses.length - 1)]!();
  }));
  return keys;
}

describe("retries and idempotency", () => {
  it("retries a 503 and reuses the same Idempotency-Key", async () => {
    const keys = sequence("/v1/images/generate", [
      () => apiError(503, "circuit_open", "busy", { headers: { "retry-after-ms": "10" } }),
      () => HttpResponse.json(job("queued"), { status: 202 }),
    ]);
    const res = await makeClient().images.generate(body);
    expect(res.status).toBe("queued");
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it("honours retry-after on 429 and keeps the key", async () => {
    const keys = sequence("/v1/images/generate", [
      () => apiError(429, "rate_limited", "slow", { headers: { "retry-after": "0" } }),
      () => apiError(429, "rate_limited", "slow", { headers: { "retry-after": "0" } }),
      () => HttpResponse.json(job("queued"), { status: 202 }),
    ]);
    await makeClient().images.generate(body);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
  });

  it("uses the caller's idempotencyKey", async () => {
    const keys = sequence("/v1/images/generate", [() => HttpResponse.json(job("queued"), { status: 202 })]);
    await makeClient().images.generate(body, { idempotencyKey: "my-key-1" });
    expect(keys).toEqual(["my-key-1"]);
  });

  it("each call gets its own key", async () => {
    const keys = sequence("/v1/images/generate", [() => HttpResponse.json(job("queued"), { status: 202 })]);
    const c = makeClient();
    await c.images.generate(body);
    await c.images.generate(body);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it("never retries a 400", async () => {
    const keys = sequence("/v1/images/generate", [() => apiError(400, "validation_failed")]);
    await expect(makeClient().images.generate(body)).rejects.toBeInstanceOf(BadRequestError);
    expect(keys).toHaveLength(1);
  });

  it("never retries a 501 not_implemented (permanent)", async () => {
    const keys = sequence("/v1/images/generate", [() => apiError(501, "not_implemented")]);
    await expect(makeClient().images.generate(body)).rejects.toBeInstanceOf(InternalServerError);
    expect(keys).toHaveLength(1);
  });

  it("retries 409 lock_conflict but not other conflicts", async () => {
    const keys = sequence("/v1/images/generate", [
      () => apiError(409, "lock_conflict", "busy", { headers: { "retry-after": "0" } }),
      () => HttpResponse.json(job("queued"), { status: 202 }),
    ]);
    await makeClient().images.generate(body);
    expect(keys).toHaveLength(2);

    const keys2 = sequence("/v1/images/generate", [() => apiError(409, "idempotency_key_reused")]);
    await expect(makeClient().images.generate(body)).rejects.toBeInstanceOf(ConflictError);
    expect(keys2).toHaveLength(1);
  });

  it("gives up after maxRetries with the last error", async () => {
    const keys = sequence("/v1/images/generate", [() => apiError(500, "internal_error", "boom", { headers: { "retry-after": "0" } })]);
    await expect(makeClient({ maxRetries: 1 }).images.generate(body)).rejects.toBeInstanceOf(InternalServerError);
    expect(keys).toHaveLength(2);
  });

  it("GETs are retried too, without an Idempotency-Key", async () => {
    const seen: Array<string | null> = [];
    server.use(http.get(url("/v1/models"), ({ request }) => {
      seen.push(request.headers.get("idempotency-key"));
      return seen.length === 1 ? apiError(502, "bad_gateway", "x", { headers: { "retry-after": "0" } }) : HttpResponse.json({ data: [] });
    }));
    await expect(makeClient().models.list()).resolves.toEqual({ data: [] });
    expect(seen).toEqual([null, null]);
  });

  it("a slow server → APITimeoutError", async () => {
    server.use(http.get(url("/v1/models"), async () => {
      await delay(500);
      return HttpResponse.json({ data: [] });
    }));
    const err = await makeClient({ timeout: 50, maxRetries: 0 }).models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APITimeoutError);
    expect(err).toBeInstanceOf(APIConnectionError);
  });

  it("a network failure → APIConnectionError (after retrying)", async () => {
    let calls = 0;
    server.use(http.get(url("/v1/models"), () => {
      calls++;
      return HttpResponse.error();
    }));
    const err = await makeClient({ maxRetries: 1 }).models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).not.toBeInstanceOf(APITimeoutError);
    expect(calls).toBe(2);
  });

  it("a caller's abort rejects with an AbortError and stops retrying", async () => {
    server.use(http.get(url("/v1/models"), async () => {
      await delay(300);
      return HttpResponse.json({ data: [] });
    }));
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 20);
    const err = await makeClient().models.list({ signal: ctl.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
  });

  it("sends defaultHeaders and per-request headers", async () => {
    let h: Headers | undefined;
    server.use(http.get(url("/v1/models"), ({ request }) => {
      h = request.headers;
      return HttpResponse.json({ data: [] });
    }));
    await makeClient({ defaultHeaders: { "x-app": "demo" } }).models.list({ headers: { "x-trace": "t1" } });
    expect(h?.get("x-app")).toBe("demo");
    expect(h?.get("x-trace")).toBe("t1");
  });
});

describe("backoff", () => {
  it("grows exponentially with jitter, capped at 8 s", () => {
    for (let i = 0; i < 50; i++) {
      const d0 = retryDelayMs(0), d1 = retryDelayMs(1), d2 = retryDelayMs(2), d9 = retryDelayMs(9);
      expect(d0).toBeGreaterThanOrEqual(375);
      expect(d0).toBeLessThanOrEqual(500);
      expect(d1).toBeGreaterThanOrEqual(750);
      expect(d1).toBeLessThanOrEqual(1000);
      expect(d2).toBeGreaterThanOrEqual(1500);
      expect(d2).toBeLessThanOrEqual(2000);
      expect(d9).toBeLessThanOrEqual(8000);
    }
  });

  it("honours retry-after seconds / retry-after-ms under a minute", () => {
    expect(retryDelayMs(0, new Headers({ "retry-after": "2" }))).toBe(2000);
    expect(retryDelayMs(3, new Headers({ "retry-after-ms": "150" }))).toBe(150);
    expect(retryDelayMs(0, new Headers({ "retry-after": "3600" }))).toBeLessThanOrEqual(500);
  });

  it("retryable: transient statuses only", () => {
    expect([408, 429, 500, 502, 503, 504].every((s) => isRetryable(s, undefined))).toBe(true);
    expect([400, 401, 402, 403, 404, 413, 415, 422, 501].some((s) => isRetryable(s, undefined))).toBe(false);
    expect(isRetryable(409, "lock_conflict") && isRetryable(409, "idempotency_in_progress")).toBe(true);
    expect(isRetryable(409, "idempotency_key_reused") || isRetryable(409, "already_revoked")).toBe(false);
  });

  it("a connection error retry reuses the Idempotency-Key", async () => {
    const keys: Array<string | null> = [];
    server.use(http.post(url("/v1/images/generate"), ({ request }) => {
      keys.push(request.headers.get("idempotency-key"));
      return keys.length === 1 ? HttpResponse.error() : HttpResponse.json(job("queued"), { status: 202 });
    }));
    await makeClient().images.generate(body);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });
});

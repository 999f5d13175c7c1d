/**
 * The HTTP skeleton through real requests: validation, the Error shape of every
 * failure class, request ids, response validation, the spec endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineHandlers } from "../src/http/handler.ts";
import { loadSpec } from "../src/spec.ts";
import { unimplementedOperations } from "../src/http/router.ts";
import { handlers } from "../src/handlers/index.ts";
import { startTestServer, type TestServer } from "./harness.ts";

const contractBreakers = defineHandlers({
  // Deliberately breaks the contract: `data` is required by listPrisms' 200 schema.
  listPrisms: async () => ({ status: 200, body: { items: [] } as never }),
  // Fails in an unexpected way with a message that must never reach the client.
  getCredits: async () => {
    throw new Error("database password is hunter2");
  },
  // No handler: the router must answer 501 not_implemented in the Error shape.
  listModels: undefined,
});

let srv: TestServer;
let key: string;

beforeAll(async () => {
  srv = await startTestServer({ env: { BODY_LIMIT_BYTES: "2048" }, app: { handlers: contractBreakers } });
  ({ key } = await srv.createKey());
});
afterAll(() => srv?.close());

async function errorOf(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string; details?: Record<string, unknown> } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error.code).toBe("string");
  expect(typeof body.error.message).toBe("string");
  return body.error;
}

describe("request validation", () => {
  it("names a missing required body field", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image" } });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("invalid_request");
    expect(JSON.stringify(error.details)).toContain("body.prompt");
  });

  it("rejects a value outside an enum", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "fox", aspect_ratio: "2:1" } });
    expect(res.status).toBe(400);
    expect(JSON.stringify((await errorOf(res)).details)).toContain("body.aspect_ratio");
  });

  it("rejects an out-of-range query number", async () => {
    const res = await srv.request("/v1/wallet?limit=500", { key });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("invalid_request");
    expect(JSON.stringify(error.details)).toContain("query.limit");
  });

  it("rejects a path id that is not a uuid", async () => {
    const res = await srv.request("/v1/jobs/not-a-uuid", { key });
    expect(res.status).toBe(400);
    expect(JSON.stringify((await errorOf(res)).details)).toContain("path.id");
  });

  it("lists every failing field at once", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { aspect_ratio: "2:1" } });
    const fields = ((await errorOf(res)).details as { fields: Array<{ field: string }> }).fields.map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["body.model", "body.prompt", "body.aspect_ratio"]));
  });

  it("rejects unknown query parameters", async () => {
    const res = await srv.request("/v1/wallet?limit=5&bogus=1", { key });
    expect(res.status).toBe(400);
  });
});

describe("error shape for each failure class", () => {
  it("malformed JSON → 400 invalid_json", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, headers: { "content-type": "application/json" }, body: '{"model": "local/image", ' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
  });

  it("body over the limit → 413 payload_too_large", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "x".repeat(4096) } });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("payload_too_large");
  });

  it("missing body → 400 naming the body", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_request");
  });

  it("wrong content type → 415 unsupported_media_type", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, headers: { "content-type": "text/plain" }, body: "a red fox" });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe("unsupported_media_type");
  });

  it("unknown route → 404 not_found", async () => {
    const res = await srv.request("/v1/nothing-here", { key });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
  });

  it("wrong method → 405 with Allow", async () => {
    const res = await srv.request("/v1/wallet", { method: "PUT", key });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    expect((await errorOf(res)).code).toBe("method_not_allowed");
  });

  it("missing or unknown credentials → the same 401", async () => {
    const none = await srv.request("/v1/me");
    const wrong = await srv.request("/v1/me", { key: "sk_live_" + "x".repeat(43) });
    const garbage = await srv.request("/v1/me", { headers: { authorization: "Basic abc" } });
    for (const res of [none, wrong, garbage]) expect(res.status).toBe(401);
    const bodies = await Promise.all([none, wrong, garbage].map((r) => r.json()));
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
  });

  it("authentication comes before validation", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", json: {} });
    expect(res.status).toBe(401);
  });

  it("unexpected failure → 500 internal_error with request id and no internals", async () => {
    const res = await srv.request("/v1/credits", { key });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    const error = JSON.parse(text).error;
    expect(error.code).toBe("internal_error");
    expect(error.details.request_id).toBe(res.headers.get("x-request-id"));
  });

  it("response validation catches a handler that breaks the contract", async () => {
    const res = await srv.request("/v1/prisms", { key });
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe("internal_error");
    expect(srv.logs.join("")).toMatch(/response|data/);
  });

  it("an operation without a handler → 501 not_implemented", async () => {
    const res = await srv.request("/v1/models", { key });
    expect(res.status).toBe(501);
    expect((await errorOf(res)).code).toBe("not_implemented");
  });
});

describe("every response", () => {
  it("carries x-request-id, and echoes a sane incoming one", async () => {
    for (const res of [await srv.request("/openapi.json"), await srv.request("/nope"), await srv.request("/v1/me")]) {
      expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    }
    const echoed = await srv.request("/openapi.json", { headers: { "x-request-id": "trace-1234-abcd" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-1234-abcd");
    const refused = await srv.request("/openapi.json", { headers: { "x-request-id": "<script>" } });
    expect(refused.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("answers HEAD like GET, without a body", async () => {
    const res = await srv.request("/openapi.json", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(await res.text()).toBe("");
  });

  it("answers CORS preflight", async () => {
    const res = await srv.request("/v1/images/generate", { method: "OPTIONS" });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")).toContain("Idempotency-Key");
  });
});

describe("GET /openapi.json", () => {
  it("serves the spec publicly with an hour of caching", async () => {
    const res = await srv.request("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/v1/images/generate");
  });
});

describe("operations and handlers", () => {
  it("every operation of the spec has a handler (none answers 501), and every handler an operation", () => {
    expect(unimplementedOperations(loadSpec(), handlers)).toEqual([]);
    const operationIds = new Set(loadSpec().operations.map((o) => o.operationId));
    expect(Object.keys(handlers).filter((id) => !operationIds.has(id))).toEqual([]);
  });

  it("an operation without a handler is unimplemented and answers 501 not_implemented", async () => {
    // This file's server runs with contractBreakers, which takes listModels' handler away.
    expect(unimplementedOperations(loadSpec(), { ...handlers, ...contractBreakers })).toEqual(["listModels"]);
    const res = await srv.request("/v1/models", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(501);
    expect((await errorOf(res)).code).toBe("not_implemented");
  });
});

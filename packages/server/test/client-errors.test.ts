/**
 * One explicit case per class of client mistake that once answered 500 (red team, then
 * the fuzz in fuzz.test.ts): each now answers the documented 4xx in the Error shape and
 * names what was wrong, before any handler, database or provider sees the request.
 */
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { paymentIntentEvent, signedEvent, TEST_WEBHOOK_SECRET } from "./wallet-stripe-mock.ts";

const BODY_LIMIT_BYTES = 16 * 1024;

let srv: TestServer;
let admin: { key: string; workspace_id: string };

beforeAll(async () => {
  srv = await startTestServer({ env: { STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) } });
  admin = await srv.createKey({ scopes: ["admin", "read", "generate"] });
});
afterAll(() => srv?.close());

interface ErrorBody {
  code: string;
  message: string;
  details?: { fields?: Array<{ field: string; message: string }>; [key: string]: unknown };
}

/** The status, and the Error shape: exactly `{error: {code, message, details?}}` with a request id header. */
async function refusal(res: Response, status: number): Promise<ErrorBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("x-request-id")).toBeTruthy();
  const body = JSON.parse(text) as { error: ErrorBody };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(typeof body.error.message).toBe("string");
  return body.error;
}

const fieldsOf = (error: ErrorBody) => (error.details?.fields ?? []).map((f) => f.field);

/** A body with `\ud800`-style escapes kept as written (JSON.stringify would too, but this is explicit). */
const rawJson = (path: string, json: string, key = admin.key) =>
  srv.request(path, { method: "POST", key, headers: { "content-type": "application/json" }, body: json });

describe("USD amounts finer than a micro-dollar", () => {
  it("daily_spend_cap_usd: 1e-9 on createApiKey is 400 naming the field", async () => {
    const error = await refusal(await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { name: "tiny", scopes: ["read"], daily_spend_cap_usd: 1e-9 } }), 400);
    expect(error.code).toBe("invalid_request");
    expect(fieldsOf(error)).toEqual(["body.daily_spend_cap_usd"]);
  });

  it("threshold_usd: 1.0000001 on configureAutoRecharge is 400 naming the field", async () => {
    const res = await srv.request("/v1/wallet/auto-recharge", {
      method: "POST",
      key: admin.key,
      json: { enabled: true, threshold_usd: 1.0000001, amount_usd: 10, stripe_payment_method_id: "pm_card_visa" },
    });
    expect(fieldsOf(await refusal(res, 400))).toEqual(["body.threshold_usd"]);
  });

  it("a top-up amount with 7 decimals is 400 naming the field", async () => {
    const error = await refusal(await srv.request("/v1/wallet/topup", { method: "POST", key: admin.key, json: { amount_usd: 10.0000001 } }), 400);
    expect(fieldsOf(error)).toEqual(["body.amount_usd"]);
  });

  it("whole micro-dollars are read exactly, even where float arithmetic would drift", async () => {
    for (const cap of [0.000001, 1.1, 0.29, 99999.999999]) {
      const res = await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { name: `cap ${cap}`, scopes: ["read"], daily_spend_cap_usd: cap } });
      expect(res.status, await res.clone().text()).toBe(201);
      expect(((await res.json()) as { daily_spend_cap_usd: number }).daily_spend_cap_usd).toBe(cap);
    }
  });
});

describe("text PostgreSQL cannot store", () => {
  const cardCount = async () => ((await (await srv.request("/v1/cards", { key: admin.key })).json()) as { count: number }).count;

  it("NUL in a prompt is 400 invalid_text naming body.prompt", async () => {
    const error = await refusal(await srv.request("/v1/images/generate", { method: "POST", key: admin.key, json: { model: "local/image", prompt: "a\u0000b" } }), 400);
    expect(error.code).toBe("invalid_text");
    expect(fieldsOf(error)).toEqual(["body.prompt"]);
  });

  it("NUL in a card name is refused before anything is stored", async () => {
    const before = await cardCount();
    const error = await refusal(await srv.request("/v1/cards", { method: "POST", key: admin.key, json: { card_type: "character", name: "Ada\u0000" } }), 400);
    expect(error.code).toBe("invalid_text");
    expect(fieldsOf(error)).toEqual(["body.name"]);
    expect(await cardCount()).toBe(before);
  });

  it("NUL in a character name is 400 invalid_text", async () => {
    const res = await srv.request("/v1/characters", { method: "POST", key: admin.key, json: { name: "Bo\u0000b", image_urls: ["data:image/png;base64,iVBORw0KGgo="] } });
    expect(fieldsOf(await refusal(res, 400))).toEqual(["body.name"]);
  });

  it("an unpaired surrogate in a prompt or a voice_id is 400 invalid_text naming the field", async () => {
    const prompt = await refusal(await rawJson("/v1/images/generate", '{"model":"local/image","prompt":"fox \\ud800"}'), 400);
    expect(prompt.code).toBe("invalid_text");
    expect(fieldsOf(prompt)).toEqual(["body.prompt"]);
    const voice = await refusal(await rawJson("/v1/audio/generate", '{"model":"local/tts","text":"hello","voice_id":"\\udc00"}'), 400);
    expect(voice.code).toBe("invalid_text");
    expect(fieldsOf(voice)).toEqual(["body.voice_id"]);
  });

  it("in a property name, a query string or a path segment too", async () => {
    const key = await refusal(await rawJson("/v1/cards", '{"card_type":"character","name":"Cy","attributes":{"a\\u0000":1}}'), 400);
    expect(key.code).toBe("invalid_text");
    expect(fieldsOf(key)).toEqual(["body.attributes"]);
    const query = await refusal(await srv.request("/v1/cards/search?q=fox%00", { key: admin.key }), 400);
    expect(query.code).toBe("invalid_text");
    expect(fieldsOf(query)).toEqual(["query.q"]);
    const path = await refusal(await srv.request("/v1/prisms/%00/apply", { method: "POST", key: admin.key, json: {} }), 400);
    expect(path.code).toBe("invalid_text");
  });

  it("a path that is not percent-encoded UTF-8 is 400", async () => {
    const error = await refusal(await srv.request("/v1/cards/%ED%A0%80", { key: admin.key }), 400);
    expect(fieldsOf(error)).toEqual(["path"]);
  });

  it("well-formed text outside the BMP (a surrogate pair) is accepted", async () => {
    const res = await srv.request("/v1/cards", { method: "POST", key: admin.key, json: { card_type: "character", name: "Fox 🦊" } });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { card: { name: string } }).card.name).toBe("Fox 🦊");
  });
});

describe("nesting depth", () => {
  const nested = (depth: number): unknown => {
    let value: unknown = "leaf";
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  };
  // The webhook takes any JSON object: unsigned, it answers invalid_signature once past the guard.
  const webhookWithDepth = (depth: number) =>
    srv.request("/v1/webhooks/stripe", { method: "POST", headers: { "content-type": "application/json", "stripe-signature": "t=1,v1=00" }, body: JSON.stringify({ deep: nested(depth - 1) }) });

  it("a body nested 3,000 deep is 400 body_too_deep naming the limit", async () => {
    const error = await refusal(await srv.request("/v1/images/generate", { method: "POST", key: admin.key, json: { model: "local/image", prompt: "x", extra: nested(3000) } }), 400);
    expect(error.code).toBe("body_too_deep");
    expect(error.details?.max_depth).toBe(srv.config.BODY_MAX_DEPTH);
    expect(error.message).toContain(String(srv.config.BODY_MAX_DEPTH));
  });

  it("the limit is exact: BODY_MAX_DEPTH levels pass the guard, one more does not", async () => {
    const max = srv.config.BODY_MAX_DEPTH;
    expect((await refusal(await webhookWithDepth(max), 400)).code).toBe("invalid_signature");
    expect((await refusal(await webhookWithDepth(max + 1), 400)).code).toBe("body_too_deep");
  });
});

describe("Content-Encoding", () => {
  const estimate = { model: "local/image", prompt: "a fox" };

  it("gzip declared on a body that is not gzip is 400 invalid_content_encoding", async () => {
    const res = await srv.request("/v1/estimate", { method: "POST", key: admin.key, headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: JSON.stringify(estimate) });
    expect((await refusal(res, 400)).code).toBe("invalid_content_encoding");
  });

  it("an encoding the server does not decode is 415", async () => {
    const res = await srv.request("/v1/estimate", { method: "POST", key: admin.key, headers: { "content-type": "application/json", "content-encoding": "compress" }, body: JSON.stringify(estimate) });
    expect((await refusal(res, 415)).code).toBe("unsupported_media_type");
  });

  it("a real gzip body is accepted", async () => {
    const res = await srv.request("/v1/estimate", { method: "POST", key: admin.key, headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: new Uint8Array(gzipSync(JSON.stringify(estimate))) });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("BODY_LIMIT_BYTES bounds the inflated body: a small gzip that expands past it is 413", async () => {
    const bomb = gzipSync(JSON.stringify({ ...estimate, prompt: "a".repeat(BODY_LIMIT_BYTES * 8) }));
    expect(bomb.length).toBeLessThan(BODY_LIMIT_BYTES);
    const res = await srv.request("/v1/estimate", { method: "POST", key: admin.key, headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: new Uint8Array(bomb) });
    expect((await refusal(res, 413)).code).toBe("payload_too_large");
  });
});

describe("ids PostgreSQL's uuid type refuses", () => {
  // Portman's generated requests (scripts/independent-contract-check.mjs) sent the URN form,
  // which ajv-formats calls a uuid: PATCH /v1/api-keys/{id} and the webhook endpoint routes answered 500.
  it("a uuid in URN form (urn:uuid:…) is 400 naming the parameter, on every kind of id", async () => {
    const urn = "urn:uuid:57ff3738-44a1-dbd5-20c1-aef7339bc037";
    for (const [method, path, json] of [
      ["PATCH", `/v1/api-keys/${urn}`, { name: "x" }],
      ["DELETE", `/v1/webhook-endpoints/${urn}`, undefined],
      ["POST", `/v1/webhook-endpoints/${urn}/rotate-secret`, undefined],
      ["GET", `/v1/webhook-endpoints/${urn}/deliveries`, undefined],
      ["GET", `/v1/jobs/${urn}`, undefined],
      ["GET", `/v1/assets/${urn}`, undefined],
      ["GET", `/v1/cards/${urn}`, undefined],
    ] as const) {
      const error = await refusal(await srv.request(path, { method, key: admin.key, ...(json ? { json } : {}) }), 400);
      expect(fieldsOf(error), `${method} ${path}`).toEqual(["path.id"]);
    }
    expect(fieldsOf(await refusal(await srv.request(`/v1/webhook-deliveries?job_id=${urn}`, { key: admin.key }), 400))).toEqual(["query.job_id"]);
    // The plain form still reaches the handler: an unknown id is 404.
    expect((await srv.request("/v1/webhook-endpoints/57ff3738-44a1-4bd5-a0c1-aef7339bc037/deliveries", { key: admin.key })).status).toBe(404);
  });
});

describe("out-of-range query values", () => {
  it("GET /v1/cards?offset=1e20 is 400 naming query.offset", async () => {
    expect(fieldsOf(await refusal(await srv.request("/v1/cards?offset=1e20", { key: admin.key }), 400))).toContain("query.offset");
  });

  it("numeric query parameters not written as decimals (Infinity, hex, blank) are 400 naming the parameter", async () => {
    for (const [query, field] of [
      ["/v1/wallet?limit=Infinity", "query.limit"],
      ["/v1/cards?offset=-Infinity", "query.offset"],
      ["/v1/cards?limit=0x10", "query.limit"],
      ["/v1/cards/search?q=fox&min_similarity=Infinity", "query.min_similarity"],
      ["/v1/wallet?limit=%20", "query.limit"],
    ] as const) {
      expect(fieldsOf(await refusal(await srv.request(query, { key: admin.key }), 400)), query).toEqual([field]);
    }
    expect((await srv.request("/v1/wallet?limit=10", { key: admin.key })).status).toBe(200);
  });

  it("a crafted characters cursor with a date PostgreSQL cannot store is 400 invalid_cursor", async () => {
    for (const instant of ["-200000-01-01T00:00:00.000Z", "+275760-09-13T00:00:00.000Z", "0000-01-01T00:00:00.000Z"]) {
      const cursor = Buffer.from(JSON.stringify([instant, "00000000-0000-4000-8000-000000000000"])).toString("base64url");
      const error = await refusal(await srv.request(`/v1/characters?cursor=${cursor}`, { key: admin.key }), 400);
      expect(error.code).toBe("invalid_cursor");
      expect(fieldsOf(error)).toEqual(["query.cursor"]);
    }
  });
});

describe("signed Stripe events with amounts Stripe never sends", () => {
  const deliver = (event: Record<string, unknown>) => {
    const { payload, signature } = signedEvent(event);
    return srv.request("/v1/webhooks/stripe", { method: "POST", body: payload, headers: { "content-type": "application/json", "stripe-signature": signature } });
  };
  const topups = () => srv.runtime.db.prisma.ledgerEntry.findMany({ where: { workspaceId: admin.workspace_id, kind: "topup" } });

  it("a fractional, oversized or non-numeric amount is acknowledged and credits nothing", async () => {
    const before = (await topups()).length;
    for (const amount of [1050.5, 1e20, "500", { value: 1 }]) {
      const res = await deliver(paymentIntentEvent("payment_intent.succeeded", { id: `pi_odd_${String(Math.random()).slice(2)}`, amount, metadata: { workspace_id: admin.workspace_id, purpose: "topup" } }));
      expect(res.status, await res.clone().text()).toBe(200);
    }
    expect(await topups()).toHaveLength(before);
    expect((await auditWallet(srv.runtime.db, admin.workspace_id)).problems).toEqual([]);
  });

  it("a signed event without an id is 400 invalid_payload and credits nothing", async () => {
    const before = (await topups()).length;
    const event = paymentIntentEvent("payment_intent.succeeded", { id: "pi_no_event_id", amount: 500, metadata: { workspace_id: admin.workspace_id, purpose: "topup" } }, "");
    expect((await refusal(await deliver(event), 400)).code).toBe("invalid_payload");
    expect(await topups()).toHaveLength(before);
  });

  it("whole cents are credited exactly, in micros", async () => {
    const res = await deliver(paymentIntentEvent("payment_intent.succeeded", { id: "pi_whole_cents", amount: 1234, metadata: { workspace_id: admin.workspace_id, purpose: "topup" } }));
    expect(res.status).toBe(200);
    const credited = (await topups()).filter((e) => e.description?.includes("pi_whole_cents"));
    expect(credited.map((e) => e.amountMicros)).toEqual([12_340_000n]);
  });
});

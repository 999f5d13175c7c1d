/**
 * Hostile but small requests are bounded before they are priced, stored or run, and
 * undocumented fields never change a price (red-team findings, each reproduced here).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

let srv: TestServer;
let key: string;
let workspaceId: string;

beforeAll(async () => {
  srv = await startTestServer({ env: { PROMPT_BLOCKLIST: "forbidden fruit" } });
  ({ key, workspace_id: workspaceId } = await srv.createKey());
});
afterAll(() => srv?.close());
afterEach(async () => {
  expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
});

const post = (path: string, json: unknown, k = key) => srv.request(path, { method: "POST", key: k, json });
const errorOf = async (res: Response, status: number) => {
  expect(res.status).toBe(status);
  return ((await res.json()) as { error: { code: string; message: string; details?: { field?: string; fields?: Array<{ field: string }> } } }).error;
};

describe("TTS text expansion", () => {
  it("from an empty wallet, the red team's 45 kB body is refused as too long, not run or reserved", async () => {
    const zeroTrial = await startTestServer({ env: { TRIAL_CREDIT_USD: "0" } });
    try {
      const created = await zeroTrial.createKey();
      expect((await walletOf(zeroTrial, created.key)).available_micros).toBe(0);
      const json = { model: "local/tts", text: "a".repeat(5000), phoneme_overrides: [{ from: "a", to: "b".repeat(200) }] };
      const res = await zeroTrial.request("/v1/audio/generate", { method: "POST", key: created.key, json });
      expect((await errorOf(res, 400)).code).toBe("text_too_long");
      expect(await zeroTrial.runtime.db.prisma.job.count()).toBe(0);
    } finally {
      await zeroTrial.close();
    }
  });

  it("an expansion past 10,000 characters is refused before pricing, with the field named", async () => {
    const before = await walletOf(srv, key);
    // The red team's body: 5,000 characters, one override to 40,000 — 200 M characters once applied.
    const res = await post("/v1/audio/generate", { model: "local/tts", text: "a".repeat(5000), phoneme_overrides: [{ from: "a", to: "b".repeat(200) }] });
    const error = await errorOf(res, 400);
    expect(error.code).toBe("text_too_long");
    expect(error.details?.field).toBe("body.phoneme_overrides");
    // Chained overrides that grow step by step are caught at the step that crosses the bound.
    const chained = Array.from({ length: 10 }, () => ({ from: "x", to: "xx" }));
    expect((await errorOf(await post("/v1/audio/generate", { model: "local/tts", text: "x".repeat(100), phoneme_overrides: chained }), 400)).code).toBe("text_too_long");
    expect((await walletOf(srv, key)).available_micros).toBe(before.available_micros);
  });

  it("overrides more than 100 long, or with a 'to' over 200 characters, fail validation", async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ from: `w${i}`, to: "v" }));
    expect((await errorOf(await post("/v1/audio/generate", { model: "local/tts", text: "hello", phoneme_overrides: many }), 400)).details?.fields?.[0]?.field).toBe("body.phoneme_overrides");
    const long = [{ from: "h", to: "y".repeat(201) }];
    expect((await errorOf(await post("/v1/audio/generate", { model: "local/tts", text: "hello", phoneme_overrides: long }), 400)).details?.fields?.[0]?.field).toBe("body.phoneme_overrides.0.to");
  });

  it("an expansion within the bound is priced by the characters it sends", async () => {
    const res = await post("/v1/audio/generate", { model: "local/tts", text: "AERIOX", phoneme_overrides: [{ from: "AERIOX", to: "air-ee-ox" }] });
    expect(res.status).toBe(202);
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    expect(job.status).toBe("completed");
  });

  it("the blocklist reads the text after overrides", async () => {
    const res = await post("/v1/audio/generate", { model: "local/tts", text: "forbidden apple", phoneme_overrides: [{ from: "apple", to: "fruit" }] });
    expect((await errorOf(res, 422)).code).toBe("prompt_blocked");
  });
});

describe("undocumented fields", () => {
  it("num_images (not in the spec) neither multiplies the price nor reaches the job", async () => {
    const one = (await (await post("/v1/images/generate", { model: "local/image", prompt: "x", resolution: "64x64" })).json()) as JobBody;
    const res = await post("/v1/images/generate", { model: "local/image", prompt: "x", resolution: "64x64", num_images: 1000 });
    expect(res.status).toBe(202);
    const many = (await res.json()) as JobBody;
    expect(many.estimated_cost_usd).toBe(one.estimated_cost_usd);
    const done = await waitForJob(srv, key, many.job_id);
    expect(done.status).toBe("completed");
    expect(done.charged_cost_usd).toBe(one.estimated_cost_usd);
    expect(done.output_urls).toHaveLength(1);
    await waitForJob(srv, key, one.job_id);
    const stored = await srv.runtime.db.prisma.job.findUniqueOrThrow({ where: { id: many.job_id } });
    expect(JSON.stringify(stored.input)).not.toContain("num_images");
  });

  it("open objects the spec documents as open keep their keys (card attributes)", async () => {
    const res = await post("/v1/cards", { card_type: "prop", name: "lamp", attributes: { colour: "brass", watts: 40 }, unknown_top_level: true });
    expect(res.status).toBe(201);
    const card = ((await res.json()) as { card: Record<string, unknown> }).card;
    expect(card.attributes).toEqual({ colour: "brass", watts: 40 });
    expect(card).not.toHaveProperty("unknown_top_level");
  });
});

describe("compose parameters are checked at submit", () => {
  let assetId: string;
  beforeAll(async () => {
    const res = await post("/v1/videos/generate", { model: "local/video", prompt: "clip", duration_s: 1 });
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    assetId = job.asset_ids![0]!;
  });

  it("an output_resolution above the maximum answers 400 and reserves nothing", async () => {
    const before = await walletOf(srv, key);
    const error = await errorOf(await post("/v1/compose", { segments: [{ asset_id: assetId, start_time: 0, duration: 1 }], output_resolution: "99999x99999" }), 400);
    expect(error.code).toBe("invalid_resolution");
    expect(error.details?.field).toBe("body.output_resolution");
    expect((await errorOf(await post("/v1/compose", { segments: [{ asset_id: assetId, start_time: 0, duration: 1 }], output_resolution: "huge" }), 400)).code).toBe("invalid_resolution");
    expect((await walletOf(srv, key)).reserved_micros).toBe(before.reserved_micros);
  });

  it("an effect compose does not know is refused by name rather than silently dropped", async () => {
    const before = await walletOf(srv, key);
    const error = await errorOf(await post("/v1/compose", { segments: [{ asset_id: assetId, start_time: 0, duration: 1, effects: { sparkle: 1 } }] }), 400);
    expect(error.code).toBe("unsupported_parameter");
    expect(error.details?.field).toBe("body.segments[0].effects.sparkle");
    expect((await walletOf(srv, key)).reserved_micros).toBe(before.reserved_micros);
  });
});

describe("contract slips", () => {
  it("free-text search accepts form encoding: + for a space, and reserved characters", async () => {
    await post("/v1/cards", { card_type: "character", name: "Noir detective", description: "a noir detective in the rain" });
    const plus = await srv.request("/v1/cards/search?q=noir+detective", { key });
    expect(plus.status).toBe(200);
    const found = (await plus.json()) as { items: Array<{ name: string }> };
    expect(found.items.map((c) => c.name)).toContain("Noir detective");
    expect((await srv.request("/v1/cards/search?q=a:b", { key })).status).toBe(200);
    expect((await srv.request(`/v1/cards/search?${new URLSearchParams({ q: "noir & detective/rain?" })}`, { key })).status).toBe(200);
  });

  it("POST /v1/generate answers 422 prompt_blocked, now documented", async () => {
    const error = await errorOf(await post("/v1/generate", { model: "local/image", prompt: "the forbidden fruit" }), 422);
    expect(error.code).toBe("prompt_blocked");
  });

  it("a card with neither card_type nor node_type is refused by the schema, naming both", async () => {
    const error = await errorOf(await post("/v1/cards", { name: "only a name" }), 400);
    expect(error.details?.fields).toEqual([{ field: "body.card_type", message: "is required (or body.node_type)" }]);
  });

  it("a list offset beyond the bound is a 400, not a 500", async () => {
    const error = await errorOf(await srv.request("/v1/cards?offset=1e20", { key }), 400);
    expect(error.details?.fields?.[0]?.field).toBe("query.offset");
  });
});

/**
 * Characters through HTTP: create → training job (aeriox provider, offline) → ready with
 * lora_url / voice_id; cursor pagination; get / delete / workspace isolation; deleted
 * characters refused by generation; a refused reservation leaves no character; ledger
 * invariants after every scenario. The reference images live on a loopback server, so this
 * server runs with FETCH_ALLOW_PRIVATE_NETWORKS (the refusals themselves: ssrf.test.ts).
 */
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { solidPng } from "@aeriox/core/prisms";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import { meanRgb } from "@aeriox/core/characters";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

let srv: TestServer;
let key: string;
let workspaceId: string;
let images: http.Server;
let imagesUrl: string;
let imageHits = 0;

beforeAll(async () => {
  srv = await startTestServer({ env: { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "50", FETCH_ALLOW_PRIVATE_NETWORKS: "true" } });
  ({ key, workspace_id: workspaceId } = await srv.createKey());
  images = http.createServer((req, res) => {
    imageHits++;
    if (req.url === "/red.png") return void res.writeHead(200, { "content-type": "image/png" }).end(solidPng(200, 20, 20));
    if (req.url === "/blue.png") return void res.writeHead(200, { "content-type": "image/png" }).end(solidPng(10, 30, 220));
    res.writeHead(404).end();
  });
  images.listen(0, "127.0.0.1");
  await once(images, "listening");
  imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
});
afterAll(async () => {
  images?.close();
  await srv?.close();
});
afterEach(async () => {
  const audit = await auditWallet(srv.runtime.db, workspaceId);
  expect(audit.problems).toEqual([]);
});

type CharacterBody = { id: string; name: string; status: string; image_urls: string[]; attributes: Record<string, unknown>; voice_id: string | null; lora_url: string | null; created_at: string };

async function createCharacter(body: unknown, k = key) {
  return srv.request("/v1/characters", { method: "POST", key: k, json: body });
}

describe("POST /v1/characters", () => {
  it("queues a local character_train job at the local price ($0.001), and on completion the character is ready with lora_url and no provider voice", async () => {
    const before = await walletOf(srv, key);
    const started = Date.now();
    const res = await createCharacter({ name: "Captain Red", image_urls: [`${imagesUrl}/red.png`, `${imagesUrl}/blue.png`], attributes: { age: 40, style: "pulp" } });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as JobBody & { character_id: string };
    expect(queued.type).toBe("character_train");
    // No FAL_KEY: the local trainer, priced as the local operation it is (never fal's $2).
    expect(queued.estimated_cost_usd).toBe(0.001);
    expect(queued.character_id).toMatch(/^[0-9a-f-]{36}$/);

    const training = (await (await srv.request(`/v1/characters/${queued.character_id}`, { key })).json()) as CharacterBody;
    expect(["training", "ready"]).toContain(training.status);

    const job = await waitForJob(srv, key, queued.job_id);
    const trainingMs = Date.now() - started;
    expect(job.status).toBe("completed");
    expect(job.charged_cost_usd).toBe(0.001);
    expect((job as JobBody & { model?: string }).model).toBe("aeriox/soul-local");
    console.log(`character training job: ${trainingMs} ms end to end`);

    const res2 = await srv.request(`/v1/characters/${queued.character_id}`, { key });
    expect(res2.status).toBe(200);
    const character = (await res2.json()) as CharacterBody;
    expect(character).toMatchObject({ id: queued.character_id, name: "Captain Red", status: "ready", attributes: { age: 40, style: "pulp" } });
    expect(character.image_urls).toHaveLength(2);
    // No made-up voice id a provider would not know: null without ElevenLabs.
    expect(character.voice_id).toBeNull();
    expect(character.lora_url).toBe(`aeriox-asset://${job.asset_ids![0]}`);

    // The artifact: a JSON fingerprint with the PNG references' average colours.
    const artifact = (await (await fetch(job.output_urls![0]!)).json()) as {
      format: string;
      trainer: string;
      name: string;
      voice_id: string | null;
      mean_rgb: number[];
      palette: number[][];
      composition: { center: number[] };
      lora: unknown;
      references: Array<{ url: string; mean_rgb: number[] | null }>;
    };
    expect(artifact.format).toBe("aeriox-lora/v1");
    expect(artifact.trainer).toBe("local");
    expect(artifact.lora).toBeNull();
    // The two references' dominant colours, each half of the style.
    expect(artifact.palette).toEqual([[10, 30, 220], [200, 20, 20]]);
    expect(artifact.composition).toEqual({ center: [0.5, 0.5] });
    expect(artifact.name).toBe("Captain Red");
    expect(artifact.voice_id).toBe(character.voice_id);
    expect(artifact.references).toEqual([
      { url: `${imagesUrl}/red.png`, mean_rgb: [200, 20, 20] },
      { url: `${imagesUrl}/blue.png`, mean_rgb: [10, 30, 220] },
    ]);
    expect(artifact.mean_rgb).toEqual([105, 25, 120]);
    expect(imageHits).toBeGreaterThanOrEqual(2);

    const after = await walletOf(srv, key);
    expect(before.available_micros - after.available_micros).toBe(1_000);
    expect(after.reserved_micros).toBe(0);

    // A ready character is usable in generation (image: lora_url, audio: its voice).
    const img = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "the captain at sea", character_id: character.id } });
    expect(img.status).toBe(202);
    expect((await waitForJob(srv, key, ((await img.json()) as JobBody).job_id)).status).toBe("completed");
    const tts = await srv.request("/v1/audio/generate", { method: "POST", key, json: { text: "Ahoy", model: "local/tts", character_voice_id: character.id } });
    expect(tts.status).toBe(202);
  });

  it("trains from data: URIs without fetching anything", async () => {
    const dataUri = `data:image/png;base64,${solidPng(0, 255, 0).toString("base64")}`;
    const hits = imageHits;
    const res = await createCharacter({ name: "Inline", image_urls: [dataUri] });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as JobBody & { character_id: string };
    expect((await waitForJob(srv, key, queued.job_id)).status).toBe("completed");
    const character = (await (await srv.request(`/v1/characters/${queued.character_id}`, { key })).json()) as CharacterBody;
    expect(character.status).toBe("ready");
    expect(imageHits).toBe(hits);
  });

  it("a missing or unreachable reference fails training, names the reference, and refunds the hold", async () => {
    const dataUri = `data:image/png;base64,${solidPng(0, 255, 0).toString("base64")}`;
    const { key, workspace_id } = await srv.createKey();
    for (const [url, code] of [[`${imagesUrl}/missing.png`, "fetch_failed"], ["http://127.0.0.1:1/nothing.png", "fetch_failed"]] as const) {
      const before = await walletOf(srv, key);
      const res = await createCharacter({ name: "Unreachable", image_urls: [dataUri, url] }, key);
      expect(res.status).toBe(202);
      const queued = (await res.json()) as JobBody & { character_id: string };
      const job = await waitForJob(srv, key, queued.job_id);
      expect(job.status).toBe("failed");
      expect(job.error?.error.code).toBe(code);
      expect(job.error?.error.message).toContain("image_urls[1]");
      const character = (await (await srv.request(`/v1/characters/${queued.character_id}`, { key })).json()) as CharacterBody;
      expect(character.status).toBe("failed");
      const after = await walletOf(srv, key);
      expect(after.available_micros).toBe(before.available_micros);
      expect(after.reserved_micros).toBe(0);
    }
    expect((await auditWallet(srv.runtime.db, workspace_id)).problems).toEqual([]);
  });

  it("validates the body: 1..5 URIs, a name", async () => {
    for (const body of [{ name: "x", image_urls: [] }, { name: "x", image_urls: Array(6).fill("https://example.com/a.png") }, { image_urls: ["https://example.com/a.png"] }, { name: "x", image_urls: ["not a uri"] }]) {
      const res = await createCharacter(body);
      expect(res.status).toBe(400);
    }
  });

  it("402 when funds are short, and no character row remains", async () => {
    const poor = await startTestServer({ env: { TRIAL_CREDIT_USD: "0" } });
    try {
      const { key: poorKey, workspace_id: poorWs } = await poor.createKey();
      const res = await poor.request("/v1/characters", { method: "POST", key: poorKey, json: { name: "Too expensive", image_urls: ["https://example.com/a.png"] } });
      expect(res.status).toBe(402);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("insufficient_funds");
      expect(await poor.runtime.db.prisma.character.count({ where: { workspaceId: poorWs } })).toBe(0);
      expect(await poor.runtime.db.prisma.job.count({ where: { workspaceId: poorWs } })).toBe(0);
      const list = (await (await poor.request("/v1/characters", { key: poorKey })).json()) as { data: unknown[] };
      expect(list.data).toEqual([]);
      expect((await auditWallet(poor.runtime.db, poorWs)).problems).toEqual([]);
      expect((await walletOf(poor, poorKey)).reserved_micros).toBe(0);
    } finally {
      await poor.close();
    }
  });
});

describe("offline characters condition local/image and local/tts", () => {
  async function trained(name: string, image_urls: string[]) {
    const res = await createCharacter({ name, image_urls });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as JobBody & { character_id: string };
    expect((await waitForJob(srv, key, queued.job_id)).status).toBe("completed");
    return queued.character_id;
  }
  async function outputOf(path: string, json: unknown): Promise<Buffer> {
    const res = await srv.request(path, { method: "POST", key, json });
    expect(res.status, await res.clone().text()).toBe(202);
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    return Buffer.from(await (await fetch(job.output_urls![0]!)).arrayBuffer());
  }
  const red = () => `${imagesUrl}/red.png`;

  it("local/image with character_id renders through the character's palette: different bytes than without, the same for the same character", async () => {
    const redOne = await trained("Red", [red()]);
    const blueOne = await trained("Blue", [`${imagesUrl}/blue.png`]);
    const body = { model: "local/image", prompt: "a portrait", seed: 7, resolution: "128x128" };
    const plain = await outputOf("/v1/images/generate", body);
    const withRed = await outputOf("/v1/images/generate", { ...body, character_id: redOne });
    const withRedAgain = await outputOf("/v1/images/generate", { ...body, character_id: redOne });
    const withBlue = await outputOf("/v1/images/generate", { ...body, character_id: blueOne });
    expect(withRed.equals(plain)).toBe(false);
    expect(withRed.equals(withRedAgain)).toBe(true);
    expect(withBlue.equals(withRed)).toBe(false);
    // Measurably the references' colours: the red character's image is red, the blue one's blue.
    const [r, g, b] = meanRgb(withRed)!;
    expect(r).toBeGreaterThan(100);
    expect(r).toBeGreaterThan(3 * Math.max(g, b));
    const [r2, g2, b2] = meanRgb(withBlue)!;
    expect(b2).toBeGreaterThan(3 * Math.max(r2, g2));
  });

  it("local/tts with character_voice_id speaks in the character's own voice: distinct from the default and from another character, stable", async () => {
    const one = await trained("Voice one", [red()]);
    const two = await trained("Voice two", [red()]);
    const body = { text: "Ahoy there", model: "local/tts" };
    const plain = await outputOf("/v1/audio/generate", body);
    const first = await outputOf("/v1/audio/generate", { ...body, character_voice_id: one });
    const again = await outputOf("/v1/audio/generate", { ...body, character_voice_id: one });
    const other = await outputOf("/v1/audio/generate", { ...body, character_voice_id: two });
    expect(first.subarray(0, 4).toString("latin1")).toBe("RIFF");
    expect(first.length).toBe(plain.length); // same text, same length: only the voice differs
    expect(first.equals(plain)).toBe(false);
    expect(first.equals(again)).toBe(true);
    expect(other.equals(first)).toBe(false);
  });

  it("voice fields need ElevenLabs: 400 voice_provider_not_configured, nothing reserved, no character left", async () => {
    const { key: k, workspace_id: ws } = await srv.createKey();
    const before = await walletOf(srv, k);
    for (const extra of [{ voice_id: "JBFqnCBsd6RMkjVDRZzb" }, { voice_sample_urls: ["https://example.com/a.wav"] }]) {
      const res = await createCharacter({ name: "Voiced", image_urls: [red()], ...extra }, k);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("voice_provider_not_configured");
    }
    expect(await walletOf(srv, k)).toEqual(before);
    expect(await srv.runtime.db.prisma.character.count({ where: { workspaceId: ws } })).toBe(0);
  });

  it("a video request with character_id is refused, not run without the character", async () => {
    const id = await trained("Mover", [red()]);
    const res = await srv.request("/v1/videos/generate", { method: "POST", key, json: { model: "local/video", prompt: "walks", character_id: id } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("character_not_trained_for_model");
  });
});

describe("GET /v1/characters (cursor pagination)", () => {
  it("walks 45 characters newest first without gaps or repeats, then next_cursor null", async () => {
    const { key: k, workspace_id: ws } = await srv.createKey();
    const base = Date.now() - 3_600_000;
    // Pairs share a created_at, so the id tie-break is exercised.
    const rows = Array.from({ length: 45 }, (_, i) => ({ id: randomUUID(), workspaceId: ws, name: `c${i}`, status: "ready" as const, imageUrls: ["https://example.com/a.png"], createdAt: new Date(base + Math.floor(i / 2) * 1000) }));
    await srv.runtime.db.prisma.character.createMany({ data: rows });
    // A soft-deleted one is never listed.
    await srv.runtime.db.prisma.character.create({ data: { workspaceId: ws, name: "gone", status: "ready", imageUrls: [], deletedAt: new Date() } });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await srv.request(`/v1/characters?limit=20${cursor ? `&cursor=${cursor}` : ""}`, { key: k });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: CharacterBody[]; next_cursor: string | null };
      seen.push(...page.data.map((c) => c.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(45);
    const expected = [...rows].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((r) => r.id);
    expect(seen).toEqual(expected);

    const def = (await (await srv.request("/v1/characters", { key: k })).json()) as { data: unknown[]; next_cursor: string | null };
    expect(def.data).toHaveLength(20);
    expect(def.next_cursor).not.toBeNull();
  });

  it("400 invalid_cursor for a cursor it did not issue; 400 for limit out of range", async () => {
    for (const bad of ["garbage", "bm90LWpzb24", Buffer.from(JSON.stringify(["x", "y"])).toString("base64url")]) {
      const res = await srv.request(`/v1/characters?cursor=${encodeURIComponent(bad)}`, { key });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_cursor");
    }
    for (const limit of ["0", "101"]) expect((await srv.request(`/v1/characters?limit=${limit}`, { key })).status).toBe(400);
  });
});

describe("get / delete / isolation", () => {
  it("404 identical for another workspace and a missing id; delete is soft, and generation then refuses it", async () => {
    const own = await srv.createKey();
    const key = own.key;
    const res = await createCharacter({ name: "Mine", image_urls: [`${imagesUrl}/red.png`] }, key);
    expect(res.status).toBe(202);
    const queued = (await res.json()) as JobBody & { character_id: string };
    await waitForJob(srv, key, queued.job_id);
    const id = queued.character_id;

    const other = await srv.createKey();
    const foreign = await srv.request(`/v1/characters/${id}`, { key: other.key });
    const missing = await srv.request(`/v1/characters/${randomUUID()}`, { key: other.key });
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    const strip = (b: { error: { code: string; message: string } }) => ({ code: b.error.code, message: b.error.message });
    expect(strip((await foreign.json()) as never)).toEqual(strip((await missing.json()) as never));
    expect((await srv.request(`/v1/characters/${id}`, { method: "DELETE", key: other.key })).status).toBe(404);
    const otherList = (await (await srv.request("/v1/characters", { key: other.key })).json()) as { data: unknown[] };
    expect(otherList.data).toEqual([]);
    expect((await srv.request("/v1/characters/not-a-uuid", { key })).status).toBe(400);

    const del = await srv.request(`/v1/characters/${id}`, { method: "DELETE", key });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    expect((await srv.request(`/v1/characters/${id}`, { key })).status).toBe(404);
    expect((await srv.request(`/v1/characters/${id}`, { method: "DELETE", key })).status).toBe(404);
    const row = await srv.runtime.db.prisma.character.findUnique({ where: { id } });
    expect(row?.deletedAt).not.toBeNull();

    const gen = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "x", character_id: id } });
    expect(gen.status).toBe(400);
    expect(((await gen.json()) as { error: { code: string } }).error.code).toBe("character_not_found");
    expect((await auditWallet(srv.runtime.db, own.workspace_id)).problems).toEqual([]);
  });

  it("DELETE without the admin scope is 403", async () => {
    const own = await srv.createKey();
    const res = await createCharacter({ name: "Protected", image_urls: [`${imagesUrl}/red.png`] }, own.key);
    expect(res.status).toBe(202);
    const { character_id, job_id } = (await res.json()) as { character_id: string; job_id: string };
    await waitForJob(srv, own.key, job_id);
    // A key of the same workspace without admin.
    const { key: readKey } = await srv.createKey({ workspace: (await srv.runtime.db.prisma.workspace.findUniqueOrThrow({ where: { id: own.workspace_id } })).name, scopes: ["read", "generate"] });
    const del = await srv.request(`/v1/characters/${character_id}`, { method: "DELETE", key: readKey });
    expect(del.status).toBe(403);
    expect((await srv.request(`/v1/characters/${character_id}`, { key: readKey })).status).toBe(200);
  });
});

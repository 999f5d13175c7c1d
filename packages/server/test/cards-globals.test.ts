/**
 * Global cards (read-only, from the catalog file) and render that follows edges, through HTTP.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_GLOBAL_CARDS_FILE, globalCardId, loadGlobalCards, RENDER_MAX_DEPTH } from "@aeriox/core/cards";
import { startTestServer, type TestServer } from "./harness.ts";

interface CardJson {
  id: string;
  card_type: string;
  name: string;
  global: boolean;
}

let srv: TestServer;
let key: string;
let workspaceId: string;
const bundled = JSON.parse(readFileSync(BUNDLED_GLOBAL_CARDS_FILE, "utf8")) as { cards: Array<{ key: string; card_type: string; name: string }> };
const cliffId = globalCardId("location.seaside-cliff");

beforeAll(async () => {
  srv = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: "100000" } });
  ({ key, workspace_id: workspaceId } = await srv.createKey());
});
afterAll(() => srv?.close());

async function newCard(body: Record<string, unknown>, k = key): Promise<CardJson> {
  const res = await srv.request("/v1/cards", { method: "POST", key: k, json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { card: CardJson }).card;
}
async function getJson<T>(pathname: string, k = key): Promise<T> {
  const res = await srv.request(pathname, { key: k });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

describe("global cards", () => {
  it("are listed with the workspace's own; globals_only=1 lists only them", async () => {
    const { key: k } = await srv.createKey({ workspace: `globals-${randomUUID()}` });
    const own = await newCard({ card_type: "style", name: "House style" }, k);
    const all = await getJson<{ data: CardJson[]; count: number }>("/v1/cards?limit=200", k);
    expect(all.count).toBe(bundled.cards.length + 1);
    expect(all.data.find((c) => c.id === own.id)?.global).toBe(false);
    expect(all.data.filter((c) => c.global)).toHaveLength(bundled.cards.length);

    const globals = await getJson<{ data: CardJson[]; count: number }>("/v1/cards?globals_only=1&limit=200", k);
    expect(globals.count).toBe(bundled.cards.length);
    expect(globals.data.every((c) => c.global)).toBe(true);
    expect(globals.data.map((c) => c.id).sort()).toEqual(bundled.cards.map((c) => globalCardId(c.key)).sort());
    expect((await getJson<{ count: number }>("/v1/cards?globals_only=1&type=location", k)).count).toBe(bundled.cards.filter((c) => c.card_type === "location").length);
    expect((await getJson<{ cards: CardJson[] }>("/v1/nodes?globals_only=1&limit=200", k)).cards).toHaveLength(bundled.cards.length);
  });

  it("are readable, searchable and usable as edge targets by every workspace", async () => {
    const { card } = await getJson<{ card: CardJson }>(`/v1/cards/${cliffId}`);
    expect(card).toMatchObject({ id: cliffId, name: "Seaside cliff", global: true });
    const hits = await getJson<{ items: Array<{ id: string; global: boolean }>; mode: string }>("/v1/cards/search?q=cliffs");
    expect(hits.items[0]).toMatchObject({ id: cliffId, global: true });
    const scene = await newCard({ card_type: "scene", name: "Lighthouse scene", edges: [{ to_card_id: cliffId, edge_type: "set_in" }] });
    const read = await getJson<{ edges: Array<{ to_card_id: string }> }>(`/v1/cards/${scene.id}`);
    expect(read.edges.map((e) => e.to_card_id)).toEqual([cliffId]);
  });

  it("are never deletable through the API: 403 global_card_read_only", async () => {
    for (const route of [`/v1/cards/${cliffId}`, `/v1/nodes/${cliffId}`]) {
      const res = await srv.request(route, { method: "DELETE", key });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("global_card_read_only");
    }
    expect((await srv.request(`/v1/cards/${cliffId}`, { key })).status).toBe(200);
  });

  it("load idempotently; an edited file updates in place, a removed entry hides its card, restoring it brings it back", async () => {
    expect(await loadGlobalCards(srv.runtime)).toMatchObject({ inserted: 0, updated: 0, removed: 0 });
    const dir = mkdtempSync(path.join(tmpdir(), "aeriox-globals-"));
    const file = path.join(dir, "cards.json");
    const doc = JSON.parse(readFileSync(BUNDLED_GLOBAL_CARDS_FILE, "utf8")) as { version: number; cards: Array<Record<string, unknown>> };
    const edited = { ...doc, cards: doc.cards.filter((c) => c.key !== "prop.lantern").map((c) => (c.key === "location.seaside-cliff" ? { ...c, description: "White cliffs over a stormy sea" } : c)) };
    writeFileSync(file, JSON.stringify(edited));
    expect(await loadGlobalCards(srv.runtime, file)).toMatchObject({ inserted: 0, updated: 1, removed: 1 });
    expect((await getJson<{ card: { description: string } }>(`/v1/cards/${cliffId}`)).card.description).toBe("White cliffs over a stormy sea");
    expect((await srv.request(`/v1/cards/${globalCardId("prop.lantern")}`, { key })).status).toBe(404);
    expect(await loadGlobalCards(srv.runtime, file)).toMatchObject({ inserted: 0, updated: 0, removed: 0 });
    expect(await loadGlobalCards(srv.runtime)).toMatchObject({ inserted: 0, updated: 2, removed: 0 });
    expect((await srv.request(`/v1/cards/${globalCardId("prop.lantern")}`, { key })).status).toBe(200);
  });

  it("an invalid catalog is refused with a reason naming the entry", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "aeriox-globals-")), "bad.json");
    writeFileSync(file, JSON.stringify({ version: 1, cards: [{ key: "x.y", card_type: "spaceship", name: "Nope" }] }));
    await expect(loadGlobalCards(srv.runtime, file)).rejects.toThrow(/cards\[0\]\.card_type/);
  });
});

describe("render follows edges", () => {
  interface Rendered {
    prompt_fragment: string;
    lora: { path: string; scale: number } | null;
    voice_id: string | null;
    loras: Array<{ card_id: string; path: string }>;
    linked: Array<{ card_id: string; depth: number; edge_type: string; from_card_id: string; character: { id: string; status: string } | null }>;
    own: { prompt_fragment: string; lora: unknown };
    graph: { max_depth: number; revisits_skipped: number; truncated: boolean };
  }
  const render = async (id: string, k = key) => (await getJson<{ rendered: Rendered }>(`/v1/cards/${id}/render`, k)).rendered;

  it("a scene linked to a character with a trained LoRA renders with that LoRA and voice, plus its location and style", async () => {
    const character = await srv.runtime.db.prisma.character.create({
      data: { workspaceId, name: "Mira", status: "ready", imageUrls: [], loraUrl: "aeriox-asset://lora-mira", voiceId: "voice-mira" },
    });
    const mira = await newCard({ card_type: "character", name: "Mira", description: "a red-haired pilot", attributes: { character_id: character.id, trigger_word: "m1ra" } });
    const noir = globalCardId("style.film-noir");
    const scene = await newCard({
      card_type: "scene",
      name: "Hangar at dawn",
      edges: [
        { to_card_id: mira.id, edge_type: "features" },
        { to_card_id: cliffId, edge_type: "set_in" },
        { to_card_id: noir, edge_type: "styled_as" },
      ],
    });
    const r = await render(scene.id);
    expect(r.own.lora).toBeNull();
    expect(r.lora).toEqual({ path: "aeriox-asset://lora-mira", scale: 1 });
    expect(r.voice_id).toBe("voice-mira");
    expect(r.loras).toEqual([{ card_id: mira.id, path: "aeriox-asset://lora-mira", scale: 1 }]);
    expect(r.linked.map((l) => [l.card_id, l.edge_type, l.depth])).toEqual([
      [mira.id, "features", 1],
      [cliffId, "set_in", 1],
      [noir, "styled_as", 1],
    ]);
    expect(r.linked[0]!.character).toEqual({ id: character.id, status: "ready" });
    expect(r.prompt_fragment).toBe(["Hangar at dawn", "m1ra, Mira, a red-haired pilot", (await render(cliffId)).prompt_fragment, (await render(noir)).prompt_fragment].join(", "));
    // The character card itself renders its character's LoRA too.
    expect((await render(mira.id)).lora).toEqual({ path: "aeriox-asset://lora-mira", scale: 1 });
  });

  it("a cycle ends where it meets a card already reached", async () => {
    // a → b → c → a (edges only point at existing cards, so the cycle is closed through a fourth card's path: d → a, a → b, b → c, c → d).
    const d0 = await newCard({ card_type: "prop", name: "Compass" });
    const c = await newCard({ card_type: "prop", name: "Map", edges: [{ to_card_id: d0.id, edge_type: "with" }] });
    const b = await newCard({ card_type: "location", name: "Harbour", edges: [{ to_card_id: c.id, edge_type: "with" }] });
    const a = await newCard({ card_type: "scene", name: "Departure", edges: [{ to_card_id: b.id, edge_type: "set_in" }] });
    // Close the cycle d → a (no API creates an edge on an existing card; the database can hold one).
    await srv.runtime.db.prisma.cardEdge.create({ data: { fromCardId: d0.id, toCardId: a.id, edgeType: "back_to" } });
    const r = await render(a.id);
    expect(r.linked.map((l) => [l.card_id, l.depth])).toEqual([
      [b.id, 1],
      [c.id, 2],
      [d0.id, 3],
    ]);
    expect(r.graph).toMatchObject({ revisits_skipped: 1, truncated: false });
    expect(r.prompt_fragment).toBe("Departure, set in Harbour, featuring Map, featuring Compass");
  });

  it(`a deep chain stops at depth ${RENDER_MAX_DEPTH} and says so`, async () => {
    let next: CardJson | null = null;
    const chain: CardJson[] = [];
    for (let i = 7; i >= 0; i--) {
      next = await newCard({ card_type: "prop", name: `Link ${i}`, ...(next ? { edges: [{ to_card_id: next.id, edge_type: "next" }] } : {}) });
      chain.unshift(next);
    }
    const r = await render(chain[0]!.id);
    expect(r.linked.map((l) => l.card_id)).toEqual(chain.slice(1, RENDER_MAX_DEPTH + 1).map((c) => c.id));
    expect(r.linked.at(-1)!.depth).toBe(RENDER_MAX_DEPTH);
    expect(r.graph).toMatchObject({ max_depth: RENDER_MAX_DEPTH, truncated: true });
    // Three links from the end nothing is cut off.
    const short = await render(chain[4]!.id);
    expect(short.linked).toHaveLength(3);
    expect(short.graph.truncated).toBe(false);
  });

  it("another workspace cannot render, nor reach, this workspace's cards", async () => {
    const { key: other } = await srv.createKey({ workspace: `other-${randomUUID()}` });
    const mine = await newCard({ card_type: "prop", name: "Secret" });
    expect((await srv.request(`/v1/cards/${mine.id}/render`, { key: other })).status).toBe(404);
    expect((await render(cliffId, other)).linked).toEqual([]);
  });
});

// Per-type rendering of a card without edges (unchanged by edge-following).
describe("renderCard", () => {
  it("renders a character with trigger word, LoRA and reference images", async () => {
    const card = await newCard({
      card_type: "character",
      name: "Mira",
      description: "a young cartographer",
      preview_url: "https://cdn.example.com/mira.png",
      attributes: { trigger_word: "mira_tok", appearance: "short silver hair", lora: { path: "loras/mira.safetensors", scale: 0.8 }, reference_image_urls: ["https://cdn.example.com/mira-2.png", "https://cdn.example.com/mira.png"], zeta: 1, alpha: "x" },
    });
    const res = await srv.request(`/v1/cards/${card.id}/render`, { key });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { card: CardJson; rendered: Record<string, unknown> };
    expect(body.card.id).toBe(card.id);
    // A card without edges: the merged payload is its own.
    expect(body.rendered).toMatchObject(body.rendered.own as object);
    expect(body.rendered.own).toEqual({
      kind: "character",
      prompt_fragment: "mira_tok, Mira, a young cartographer, short silver hair",
      negative_prompt_fragment: null,
      reference_image_urls: ["https://cdn.example.com/mira.png", "https://cdn.example.com/mira-2.png"],
      lora: { path: "loras/mira.safetensors", scale: 0.8 },
      voice_id: null,
      attributes: {
        alpha: "x",
        appearance: "short silver hair",
        lora: { path: "loras/mira.safetensors", scale: 0.8 },
        reference_image_urls: ["https://cdn.example.com/mira-2.png", "https://cdn.example.com/mira.png"],
        trigger_word: "mira_tok",
        zeta: 1,
      },
    });
    // Deterministic: attribute keys sorted, same bytes twice.
    const again = await (await srv.request(`/v1/cards/${card.id}/render`, { key })).text();
    expect(again).toBe(JSON.stringify(body));
    expect(Object.keys(body.rendered.attributes as object)).toEqual(["alpha", "appearance", "lora", "reference_image_urls", "trigger_word", "zeta"]);
  });

  it("renders style, voice, prompt, location and motion cards", async () => {
    const render = async (body: Record<string, unknown>) => {
      const card = await newCard(body);
      const res = await srv.request(`/v1/cards/${card.id}/render`, { key });
      expect(res.status).toBe(200);
      return ((await res.json()) as { rendered: Record<string, unknown> }).rendered;
    };
    expect(await render({ card_type: "style", name: "Ukiyo-e", description: "flat colours, bold outlines", attributes: { negative_prompt: "photorealistic", lora_path: "loras/ukiyoe.safetensors", lora_scale: 5 } })).toMatchObject({
      kind: "style",
      prompt_fragment: "in the style of Ukiyo-e, flat colours, bold outlines",
      negative_prompt_fragment: "photorealistic",
      lora: { path: "loras/ukiyoe.safetensors", scale: 2 },
      voice_id: null,
    });
    expect((await render({ card_type: "voice", name: "Narrator", description: "deep and warm", attributes: { voice_id: "el_voice_123" } })).own).toEqual({
      kind: "voice",
      prompt_fragment: "",
      negative_prompt_fragment: null,
      reference_image_urls: [],
      lora: null,
      voice_id: "el_voice_123",
      attributes: { voice_id: "el_voice_123" },
    });
    expect(await render({ card_type: "prompt", name: "Opening shot", attributes: { prompt: "wide shot of a harbour at dawn", negative_prompt: "text, watermark" } })).toMatchObject({
      kind: "prompt",
      prompt_fragment: "wide shot of a harbour at dawn",
      negative_prompt_fragment: "text, watermark",
    });
    expect(await render({ card_type: "prompt", name: "Fallback" })).toMatchObject({ prompt_fragment: "Fallback" });
    expect(await render({ card_type: "location", name: "Harbour", description: "fog" })).toMatchObject({ kind: "location", prompt_fragment: "set in Harbour, fog", lora: null });
    expect(await render({ card_type: "motion", name: "Dolly", attributes: { camera_motion: "slow dolly-in" } })).toMatchObject({ kind: "motion", prompt_fragment: "slow dolly-in motion" });
    expect(await render({ card_type: "asset", name: "Logo", preview_url: "https://cdn.example.com/logo.png" })).toMatchObject({ kind: "asset", prompt_fragment: "Logo", reference_image_urls: ["https://cdn.example.com/logo.png"] });
  });
});

/**
 * Card search and render through HTTP: ranking with the built-in local embedding,
 * the `min_similarity`/`card_type`/`limit` filters, the 503 of an unavailable
 * backend, lazy re-embedding, and the RenderedInputs of several card types.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setCardEmbedder, defaultCardEmbedder, searchUnavailable, type CardEmbedder } from "@aeriox/core/cards/embedding";
import { startTestServer, type TestServer } from "./harness.ts";

let srv: TestServer;
let key: string;

interface Hit {
  id: string;
  card_type: string;
  name: string;
  description: string | null;
  preview_url: string | null;
  thumb_url: string | null;
  similarity: number;
  created_at: string;
}
interface SearchBody {
  items: Hit[];
  total: number;
  query_tokens: number;
  query_doc_chars: number;
}
interface CardJson {
  id: string;
  card_type: string;
  name: string;
}

beforeAll(async () => {
  srv = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: "100000" } });
  ({ key } = await srv.createKey());
});
afterAll(() => srv?.close());

async function newCard(body: Record<string, unknown>, k = key): Promise<CardJson> {
  const res = await srv.request("/v1/cards", { method: "POST", key: k, json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { card: CardJson }).card;
}
async function search(query: string, k = key): Promise<SearchBody> {
  const res = await srv.request(`/v1/cards/search?${query}`, { key: k });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as SearchBody;
}

describe("searchCards", () => {
  let fox: CardJson, whale: CardJson, foxStyle: CardJson, castle: CardJson, k: string;
  beforeAll(async () => {
    ({ key: k } = await srv.createKey({ workspace: `search-${randomUUID()}` }));
    fox = await newCard({ card_type: "character", name: "Red Fox Character", description: "A clever red fox with a bushy tail", preview_url: "https://cdn.example.com/fox.png" }, k);
    whale = await newCard({ card_type: "character", name: "Blue Whale", description: "A gentle giant of the deep ocean" }, k);
    foxStyle = await newCard({ card_type: "style", name: "Autumn palette", description: "warm oranges", attributes: { palette: "fox red, rust, amber" } }, k);
    castle = await newCard({ card_type: "location", name: "Moonlit castle", description: "Gothic towers on a cliff" }, k);
  });

  it("ranks the red fox above the blue whale", async () => {
    const body = await search("q=red%20fox", k);
    expect(body.items[0]!.id).toBe(fox.id);
    const rank = (id: string) => body.items.findIndex((i) => i.id === id);
    expect(rank(fox.id)).toBeLessThan(rank(whale.id) === -1 ? Infinity : rank(whale.id));
    expect(body.items[0]).toMatchObject({ card_type: "character", name: "Red Fox Character", description: "A clever red fox with a bushy tail", preview_url: "https://cdn.example.com/fox.png", thumb_url: null });
    expect(body.items[0]!.similarity).toBeGreaterThan(0.3);
    expect(body.items[0]!.similarity).toBeLessThanOrEqual(1);
    // Scores are sorted and within [0, 1]; total counts every match.
    const sims = body.items.map((i) => i.similarity);
    expect([...sims].sort((a, b) => b - a)).toEqual(sims);
    expect(sims.every((s) => s >= 0 && s <= 1)).toBe(true);
    expect(body.total).toBe(body.items.length);
    expect(body.query_tokens).toBe(2);
    expect(body.query_doc_chars).toBe("red fox".length);
  });

  it("matches attribute values and inflections (trigrams)", async () => {
    const palette = await search("q=rust%20amber", k);
    expect(palette.items[0]!.id).toBe(foxStyle.id);
    const plural = await search("q=castles%20towers", k);
    expect(plural.items[0]!.id).toBe(castle.id);
    const accents = await search("q=W%C3%A4le%20OCEAN", k);
    expect(accents.items[0]!.id).toBe(whale.id);
  });

  it("filters by card_type, min_similarity and limit", async () => {
    const styles = await search("q=red%20fox&card_type=style", k);
    expect(styles.items.map((i) => i.id)).toEqual([foxStyle.id]);
    expect(styles.total).toBe(1);

    const all = await search("q=red%20fox&min_similarity=0", k);
    const strict = await search("q=red%20fox&min_similarity=0.3", k);
    expect(strict.items.length).toBeGreaterThan(0);
    expect(strict.items.every((i) => i.similarity >= 0.3)).toBe(true);
    expect(strict.items.map((i) => i.id)).not.toContain(whale.id);
    expect(strict.total).toBeLessThan(all.total);
    expect((await search("q=red%20fox&min_similarity=1", k)).items.every((i) => i.similarity >= 1)).toBe(true);

    const one = await search("q=red%20fox&limit=1", k);
    expect(one.items).toHaveLength(1);
    expect(one.items[0]!.id).toBe(fox.id);
    expect(one.total).toBe(all.total);
    // An exact match scores 1 and passes min_similarity=1 despite float32 rounding.
    const exact = await newCard({ card_type: "prop", name: "Moon lantern" }, k);
    const perfect = await search("q=MOON%20lantern&min_similarity=1", k);
    expect(perfect.items.map((i) => [i.id, i.similarity])).toEqual([[exact.id, 1]]);
    expect(perfect.total).toBe(1);
  });

  it("is workspace-scoped and skips deleted cards", async () => {
    const outsider = (await srv.createKey({ workspace: `outsider-${randomUUID()}` })).key;
    expect(await search("q=red%20fox", outsider)).toMatchObject({ items: [], total: 0 });
    const temp = await newCard({ card_type: "prop", name: "Red fox plush" }, k);
    expect((await search("q=red%20fox%20plush", k)).items[0]!.id).toBe(temp.id);
    expect((await srv.request(`/v1/cards/${temp.id}`, { method: "DELETE", key: k })).status).toBe(200);
    expect((await search("q=red%20fox%20plush", k)).items.map((i) => i.id)).not.toContain(temp.id);
  });

  it("rejects bad queries with 400", async () => {
    for (const q of ["", "q=", `q=${"a".repeat(501)}`, "q=fox&limit=0", "q=fox&limit=101", "q=fox&min_similarity=1.5", "q=fox&min_similarity=-0.1", "q=%21%21%21"]) {
      const res = await srv.request(`/v1/cards/search?${q}`, { key: k });
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
  });

  it("answers 503 search_unavailable when the embedding backend is down, and embeds cards stored without a vector later", async () => {
    let down: "api" | "network" | false = "network";
    const flaky: CardEmbedder = {
      id: defaultCardEmbedder.id,
      dimensions: defaultCardEmbedder.dimensions,
      async embed(texts, kind) {
        if (down === "api") throw searchUnavailable();
        if (down === "network") throw new Error("connect ECONNREFUSED api.voyageai.example");
        return defaultCardEmbedder.embed(texts, kind);
      },
    };
    const { key: fk } = await srv.createKey({ workspace: `flaky-${randomUUID()}` });
    setCardEmbedder(srv.runtime, flaky);
    try {
      // Authoring still works while the backend is down: the card is stored without a vector.
      const card = await newCard({ card_type: "prop", name: "Golden compass" }, fk);
      const row = await srv.runtime.db.prisma.card.findUnique({ where: { id: card.id } });
      expect(row?.embedding).toEqual([]);
      for (const mode of ["network", "api"] as const) {
        down = mode;
        const res = await srv.request("/v1/cards/search?q=compass", { key: fk });
        expect(res.status).toBe(503);
        const text = await res.text();
        expect(JSON.parse(text)).toMatchObject({ error: { code: "search_unavailable", message: "Semantic search is unavailable" } });
        expect(text).not.toContain("ECONNREFUSED");
      }
      down = false;
      const body = await search("q=golden%20compass", fk);
      expect(body.items.map((i) => i.id)).toEqual([card.id]);
      const after = await srv.runtime.db.prisma.card.findUnique({ where: { id: card.id } });
      expect(after?.embedding).toHaveLength(256);
    } finally {
      setCardEmbedder(srv.runtime, defaultCardEmbedder);
    }
  });
});

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
    expect(body.rendered).toEqual({
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
    expect(await render({ card_type: "voice", name: "Narrator", description: "deep and warm", attributes: { voice_id: "el_voice_123" } })).toEqual({
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

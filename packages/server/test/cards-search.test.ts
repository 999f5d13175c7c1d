/**
 * Card search through HTTP, in both modes, and the render per card type.
 *
 * - Lexical (no embedding model configured): a small labelled library proves stems
 *   ("foxes" → "fox"), typos ("detectiv" → "Detective"), accents, and that unrelated
 *   cards do not come back under the default threshold; `mode` and `X-Search-Mode` say so.
 * - Semantic: msw answers like Voyage (`POST https://api.voyageai.com/v1/embeddings`) and
 *   like an OpenAI-compatible `/embeddings` endpoint, with fixed vectors per text, so the
 *   ranking and `min_similarity` are proven to follow the vectors; a card written while the
 *   embedder is down is stored and embedded later; a dead embedder falls back to lexical,
 *   or answers 503 under SEARCH_REQUIRE_SEMANTIC.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { startTestServer, type TestServer } from "./harness.ts";

interface Hit {
  id: string;
  card_type: string;
  name: string;
  similarity: number;
  global: boolean;
}
interface SearchBody {
  items: Hit[];
  total: number;
  mode: "semantic" | "lexical";
  query_tokens: number;
  query_doc_chars: number;
}
interface CardJson {
  id: string;
  card_type: string;
  name: string;
}

/** An operator's empty global catalog: these suites search only what they create. */
function emptyCatalog(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "aeriox-globals-")), "globals.json");
  writeFileSync(file, JSON.stringify({ version: 1, cards: [] }));
  return file;
}

async function newCard(srv: TestServer, key: string, body: Record<string, unknown>): Promise<CardJson> {
  const res = await srv.request("/v1/cards", { method: "POST", key, json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { card: CardJson }).card;
}
async function search(srv: TestServer, key: string, query: string): Promise<SearchBody & { header: string | null }> {
  const res = await srv.request(`/v1/cards/search?${query}`, { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return { ...((await res.json()) as SearchBody), header: res.headers.get("x-search-mode") };
}

// ───────────────────────────── fixed vectors ─────────────────────────────
// Four axes: sea, crime, car, forest. A text's vector is the sum of the axes its words name,
// so the expected cosine of every pair is known (the server normalises).
const AXES: Array<[RegExp, number]> = [
  [/coast|sea|cliff|wave|shore/i, 0],
  [/detective|sleuth|crime|noir|investigat/i, 1],
  [/automobile|car|sedan|vehicle/i, 2],
  [/forest|woods|tree/i, 3],
];
function vectorOf(text: string): number[] {
  const v = [0.01, 0.01, 0.01, 0.01];
  for (const [re, axis] of AXES) if (re.test(text)) v[axis]! += 1;
  return v;
}

function cosine(a: string, b: string): number {
  const x = vectorOf(a);
  const y = vectorOf(b);
  const dot = x.reduce((sum, v, i) => sum + v * y[i]!, 0);
  return dot / Math.hypot(...x) / Math.hypot(...y);
}

const calls: Array<{ url: string; body: { input: string[]; model: string; input_type?: string } }> = [];
let down = false;
const embeddingsAnswer = (voyage: boolean) => async ({ request }: { request: Request }) => {
  const body = (await request.json()) as { input: string[]; model: string; input_type?: string };
  calls.push({ url: request.url, body });
  if (down) return HttpResponse.json({ detail: "overloaded" }, { status: 503 });
  // Answered in reverse order: the server must place each by `index`.
  const data = body.input.map((text, index) => ({ object: "embedding", embedding: vectorOf(text), index })).reverse();
  return HttpResponse.json(voyage ? { object: "list", data, model: body.model, usage: { total_tokens: 7 } } : { object: "list", data, model: body.model });
};
const mocks = setupServer(
  http.post("https://api.voyageai.com/v1/embeddings", embeddingsAnswer(true)),
  http.post("https://embeddings.example.test/v1/embeddings", embeddingsAnswer(false)),
);
beforeAll(() => mocks.listen({ onUnhandledRequest: "bypass" }));
afterEach(() => {
  down = false;
});
afterAll(() => mocks.close());

describe("lexical search (no embedding model)", () => {
  let srv: TestServer;
  let key: string;
  const c: Record<string, CardJson> = {};
  beforeAll(async () => {
    srv = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: "100000", CARDS_GLOBAL_CATALOG: emptyCatalog() } });
    ({ key } = await srv.createKey());
    c.fox = await newCard(srv, key, { card_type: "character", name: "Red fox", description: "A clever fox with a bushy tail" });
    c.detective = await newCard(srv, key, { card_type: "character", name: "Detective", description: "Hard-boiled investigator in a trench coat" });
    c.cliff = await newCard(srv, key, { card_type: "location", name: "Seaside cliff", description: "Chalk cliffs above a rocky coastline" });
    c.car = await newCard(srv, key, { card_type: "prop", name: "Vintage automobile", description: "A polished 1930s sedan" });
    c.cafe = await newCard(srv, key, { card_type: "location", name: "Café de Flore", description: "Parisian terrace" });
    c.palette = await newCard(srv, key, { card_type: "style", name: "Autumn palette", attributes: { colours: "rust, amber and ochre leaves" } });
  });
  afterAll(() => srv?.close());

  it("finds stems: 'foxes' finds the fox and nothing else", async () => {
    const r = await search(srv, key, "q=foxes");
    expect(r.mode).toBe("lexical");
    expect(r.header).toBe("lexical");
    expect(r.items.map((i) => i.id)).toEqual([c.fox!.id]);
    expect(r.total).toBe(1);
    expect(r.items[0]!.similarity).toBeGreaterThanOrEqual(0.5);
  });

  it("finds typos: 'detectiv' and 'coastlin' find their cards and nothing else", async () => {
    expect((await search(srv, key, "q=detectiv")).items.map((i) => i.id)).toEqual([c.detective!.id]);
    expect((await search(srv, key, "q=coastlin")).items.map((i) => i.id)).toEqual([c.cliff!.id]);
  });

  it("folds accents and reads attribute values", async () => {
    expect((await search(srv, key, "q=cafe")).items.map((i) => i.id)).toEqual([c.cafe!.id]);
    expect((await search(srv, key, "q=amber")).items.map((i) => i.id)).toEqual([c.palette!.id]);
  });

  it("does not return unrelated cards, and says it cannot match synonyms", async () => {
    for (const q of ["submarine", "banana%20split", "quantum"]) expect(await search(srv, key, `q=${q}`), q).toMatchObject({ items: [], total: 0, mode: "lexical" });
    // "sleuth" means detective, but shares no word with it: lexical search does not pretend.
    expect((await search(srv, key, "q=sleuth")).items).toEqual([]);
  });

  it("an explicit min_similarity of 0 returns every card with any score; card_type and limit filter", async () => {
    const loose = await search(srv, key, "q=fox&min_similarity=0");
    expect(loose.items[0]!.id).toBe(c.fox!.id);
    expect((await search(srv, key, "q=fox&card_type=location")).items).toEqual([]);
    expect((await search(srv, key, "q=red%20fox%20cliff&limit=1")).items).toHaveLength(1);
  });

  it("is workspace-scoped and skips deleted cards; bad queries are 400", async () => {
    const outsider = (await srv.createKey({ workspace: `outsider-${randomUUID()}` })).key;
    expect(await search(srv, outsider, "q=fox")).toMatchObject({ items: [], total: 0 });
    const temp = await newCard(srv, key, { card_type: "prop", name: "Crystal skull" });
    expect((await search(srv, key, "q=crystal%20skull")).items.map((i) => i.id)).toEqual([temp.id]);
    expect((await srv.request(`/v1/cards/${temp.id}`, { method: "DELETE", key })).status).toBe(200);
    expect((await search(srv, key, "q=crystal%20skull")).items).toEqual([]);
    for (const q of ["", "q=", `q=${"a".repeat(501)}`, "q=fox&limit=0", "q=fox&min_similarity=1.5", "q=%21%21%21"]) {
      const res = await srv.request(`/v1/cards/search?${q}`, { key });
      expect(res.status, q).toBe(400);
    }
  });
});

describe("SEARCH_REQUIRE_SEMANTIC=true without a model", () => {
  it("answers 503 search_unavailable", async () => {
    const srv = await startTestServer({ env: { SEARCH_REQUIRE_SEMANTIC: "true", CARDS_GLOBAL_CATALOG: emptyCatalog() } });
    try {
      const { key } = await srv.createKey();
      await newCard(srv, key, { card_type: "prop", name: "Lantern" });
      const res = await srv.request("/v1/cards/search?q=lantern", { key });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("search_unavailable");
    } finally {
      await srv.close();
    }
  });
});

const backends: Array<{ name: string; env: Record<string, string>; url: string; model: string }> = [
  { name: "Voyage (voyageai SDK)", env: { VOYAGE_API_KEY: "pa-test-key" }, url: "https://api.voyageai.com/v1/embeddings", model: "voyage-3.5-lite" },
  { name: "an OpenAI-compatible /embeddings endpoint", env: { EMBEDDINGS_BASE_URL: "https://embeddings.example.test/v1", EMBEDDINGS_MODEL: "local-embed" }, url: "https://embeddings.example.test/v1/embeddings", model: "local-embed" },
]
for (const backend of backends) {
  describe(`semantic search with ${backend.name}`, () => {
    let srv: TestServer;
    let key: string;
    const c: Record<string, CardJson> = {};
    beforeAll(async () => {
      srv = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: "100000", CARDS_GLOBAL_CATALOG: emptyCatalog(), ...backend.env } });
      ({ key } = await srv.createKey());
      calls.length = 0;
      c.detective = await newCard(srv, key, { card_type: "character", name: "Detective", description: "Hard-boiled investigator" });
      c.cliff = await newCard(srv, key, { card_type: "location", name: "Seaside cliff", description: "Chalk cliffs above the waves" });
      c.car = await newCard(srv, key, { card_type: "prop", name: "Vintage automobile", description: "A polished sedan" });
      c.noirCar = await newCard(srv, key, { card_type: "prop", name: "Getaway car", description: "The crime boss's sedan" });
    });
    afterAll(() => srv?.close());

    it("embeds each card when it is written, as a document, with the configured model", () => {
      const writes = calls.filter((call) => call.url === backend.url);
      expect(writes).toHaveLength(4);
      for (const w of writes) {
        expect(w.body.model).toBe(backend.model);
        expect(w.body.input).toHaveLength(1);
        if (backend.env.VOYAGE_API_KEY) expect(w.body.input_type).toBe("document");
      }
    });

    it("ranks by the model's vectors: 'coastline' finds the cliff, 'sleuth' the detective first", async () => {
      const coast = await search(srv, key, "q=coastline");
      expect(coast.mode).toBe("semantic");
      expect(coast.header).toBe("semantic");
      expect(coast.items.map((i) => i.id)).toEqual([c.cliff!.id]);
      expect(coast.items[0]!.similarity).toBeCloseTo(1, 3);
      if (backend.env.VOYAGE_API_KEY) {
        expect(calls.at(-1)!.body.input_type).toBe("query");
        expect(coast.query_tokens).toBe(7);
      }

      // sleuth = crime axis: Detective (crime) 1.0, Getaway car (crime + car) ≈ 0.71, the rest ≈ 0.
      const sleuth = await search(srv, key, "q=sleuth");
      expect(sleuth.items.map((i) => i.id)).toEqual([c.detective!.id, c.noirCar!.id]);
      expect(sleuth.items[1]!.similarity).toBeCloseTo(cosine("sleuth", "Getaway car\nThe crime boss's sedan"), 4);
    });

    it("min_similarity filters by the cosine", async () => {
      const all = await search(srv, key, "q=sleuth&min_similarity=0");
      expect(all.total).toBe(4);
      expect(all.items.slice(0, 2).map((i) => i.id)).toEqual([c.detective!.id, c.noirCar!.id]);
      expect((await search(srv, key, "q=sleuth&min_similarity=0.8")).items.map((i) => i.id)).toEqual([c.detective!.id]);
      expect((await search(srv, key, "q=vehicle&min_similarity=0.6")).items.map((i) => i.id).sort()).toEqual([c.car!.id, c.noirCar!.id].sort());
      expect((await search(srv, key, "q=forest")).items).toEqual([]);
    });

    it("a card written while the embedder is down is stored, then embedded; a dead embedder falls back to lexical", async () => {
      down = true;
      const woods = await newCard(srv, key, { card_type: "location", name: "Pine woods", description: "Tall trees" });
      // Still down: the answer is honest about being lexical.
      const fallback = await search(srv, key, "q=pine%20woods");
      expect(fallback).toMatchObject({ mode: "lexical", header: "lexical" });
      expect(fallback.items.map((i) => i.id)).toEqual([woods.id]);
      const row = await srv.runtime.db.prisma.card.findUniqueOrThrow({ where: { id: woods.id } });
      expect(row.embeddingModel).toBeNull();
      expect(row.embeddingAttempts).toBeGreaterThanOrEqual(1);
      expect(row.embeddingRetryAt).not.toBeNull();

      down = false;
      const found = await search(srv, key, "q=forest");
      expect(found.mode).toBe("semantic");
      expect(found.items.map((i) => i.id)).toEqual([woods.id]);
      const after = await srv.runtime.db.prisma.card.findUniqueOrThrow({ where: { id: woods.id } });
      expect(after.embeddingModel).toBe(backend.url.includes("voyage") ? `voyage:${backend.model}` : `openai-compatible:${backend.model}`);
      expect(after.embeddingAttempts).toBe(0);
    });
  });
}

describe("SEARCH_REQUIRE_SEMANTIC=true with a model that is down", () => {
  it("answers 503 search_unavailable, and the background backfill embeds the pending card once it is back", async () => {
    const srv = await startTestServer({ env: { SEARCH_REQUIRE_SEMANTIC: "true", VOYAGE_API_KEY: "pa-test-key", CARDS_GLOBAL_CATALOG: emptyCatalog() } });
    try {
      const { key } = await srv.createKey();
      down = true;
      const card = await newCard(srv, key, { card_type: "location", name: "Sea shore" });
      const res = await srv.request("/v1/cards/search?q=coast", { key });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("search_unavailable");
      down = false;
      // The background pass respects the back-off; make the card due and run one pass.
      await srv.runtime.db.prisma.card.update({ where: { id: card.id }, data: { embeddingRetryAt: new Date(0) } });
      const { backfillOnce } = await import("@aeriox/core/cards");
      expect(await backfillOnce(srv.runtime)).toBe(1);
      expect((await srv.runtime.db.prisma.card.findUniqueOrThrow({ where: { id: card.id } })).embeddingModel).toBe("voyage:voyage-3.5-lite");
    } finally {
      await srv.close();
    }
  });
});

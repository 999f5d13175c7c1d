import { describe, expect, it } from "vitest";
import { BadRequestError, type Character } from "../src/index.ts";
import { apiError, http, HttpResponse, makeClient, server, url, useMsw } from "./helpers.ts";

useMsw();

const TOTAL = 250;
const characters: Character[] = Array.from({ length: TOTAL }, (_, i) => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
  name: `c${i}`,
  status: "ready",
  created_at: "2026-11-29T00:00:00Z",
}));

/** Cursor pages as the spec describes them: limit 1..100 (default 20), opaque `next_cursor`. */
function characterPages() {
  const requests: Array<{ limit: number; cursor: string | null }> = [];
  server.use(http.get(url("/v1/characters"), ({ request }) => {
    const q = new URL(request.url).searchParams;
    const limit = Number(q.get("limit") ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return apiError(400, "validation_failed");
    const cursor = q.get("cursor");
    requests.push({ limit, cursor });
    const start = cursor ? Number(atob(cursor)) : 0;
    const data = characters.slice(start, start + limit);
    const next = start + limit < TOTAL ? btoa(String(start + limit)) : null;
    return HttpResponse.json({ data, next_cursor: next });
  }));
  return requests;
}

describe("pagination", () => {
  it("for await walks 250 characters across cursor pages", async () => {
    const requests = characterPages();
    const names: string[] = [];
    for await (const c of makeClient().characters.list({ limit: 100 })) names.push(c.name);
    expect(names).toHaveLength(TOTAL);
    expect(names[0]).toBe("c0");
    expect(names[249]).toBe("c249");
    expect(requests.map((r) => r.limit)).toEqual([100, 100, 100]);
    expect(requests[0]!.cursor).toBeNull();
  });

  it("await gives the first page only; default page size", async () => {
    const requests = characterPages();
    const page = await makeClient().characters.list();
    expect(page.data).toHaveLength(20);
    expect(page.next_cursor).toBeTruthy();
    expect(requests).toHaveLength(1);
  });

  it("toArray and pages()", async () => {
    characterPages();
    const list = makeClient().characters.list({ limit: 90 });
    let pages = 0;
    for await (const p of list.pages()) pages += p.data.length ? 1 : 0;
    expect(pages).toBe(3);
    expect(await makeClient().characters.list({ limit: 100 }).toArray()).toHaveLength(TOTAL);
  });

  it("an out-of-range limit is the server's 400, not a silent clamp", async () => {
    characterPages();
    await expect(makeClient().characters.list({ limit: 500 })).rejects.toBeInstanceOf(BadRequestError);
  });

  const cards = Array.from({ length: 120 }, (_, i) => ({ id: String(i), card_type: "style", name: `card${i}`, created_at: "2026-11-29T00:00:00Z" }));
  function offsetPages(path: string, shape: (page: typeof cards, limit: number, offset: number) => object) {
    const offsets: number[] = [];
    server.use(http.get(url(path), ({ request }) => {
      const q = new URL(request.url).searchParams;
      const limit = Number(q.get("limit") ?? 50);
      const offset = Number(q.get("offset") ?? 0);
      if (limit < 1 || limit > 200) return apiError(400, "invalid_request");
      offsets.push(offset);
      return HttpResponse.json(shape(cards.slice(offset, offset + limit), limit, offset));
    }));
    return offsets;
  }

  it("cards use offset pagination until a short page", async () => {
    const offsets = offsetPages("/v1/cards", (page, limit, offset) => ({ data: page, count: page.length, limit, offset }));
    const all = await makeClient().cards.list({ limit: 50 }).toArray();
    expect(all.map((c) => c.name)).toEqual(cards.map((c) => c.name));
    expect(offsets).toEqual([0, 50, 100]);
  });

  it("an exact multiple of the page size ends on an empty page", async () => {
    const offsets = offsetPages("/v1/cards", (page, limit, offset) => ({ data: page, count: page.length, limit, offset }));
    expect(await makeClient().cards.list({ limit: 60 }).toArray()).toHaveLength(120);
    expect(offsets).toEqual([0, 60, 120]);
  });

  it("legacy nodes paginate the same way", async () => {
    const offsets = offsetPages("/v1/nodes", (page, limit, offset) => ({ nodes: page, cards: page, count: page.length, limit, offset }));
    expect(await makeClient().nodes.list({ limit: 100 }).toArray()).toHaveLength(120);
    expect(offsets).toEqual([0, 100]);
  });
});

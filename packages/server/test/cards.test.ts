/**
 * The card library through HTTP only: CRUD on the canonical and legacy routes,
 * validation, pagination, workspace isolation on every `{id}` path, soft delete,
 * semantic search and render.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";

let srv: TestServer;
let key: string;
let otherKey: string;

interface CardJson {
  id: string;
  card_type: string;
  name: string;
  description: string | null;
  attributes: Record<string, unknown>;
  preview_url: string | null;
  thumb_url: string | null;
  parent_id: string | null;
  visibility_scopes: string[];
  created_at: string;
  node_type?: string;
}
interface EdgeJson {
  id: string;
  from_card_id: string;
  to_card_id: string;
  edge_type: string;
  attributes: Record<string, unknown>;
  to_node_id?: string;
}
interface ErrorJson {
  error: { code: string; message: string; details?: { fields?: Array<{ field: string; message: string }> } };
}

beforeAll(async () => {
  // No global cards here (an operator's empty catalog): counts and orders are the workspace's own.
  // Global cards have their own suite (cards-globals.test.ts).
  const dir = mkdtempSync(path.join(tmpdir(), "aeriox-cards-"));
  writeFileSync(path.join(dir, "globals.json"), JSON.stringify({ version: 1, cards: [] }));
  srv = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: "100000", CARDS_GLOBAL_CATALOG: path.join(dir, "globals.json") } });
  ({ key } = await srv.createKey());
  ({ key: otherKey } = await srv.createKey());
});
afterAll(() => srv?.close());

async function post(path: string, json: unknown, k = key): Promise<Response> {
  return srv.request(path, { method: "POST", key: k, json });
}
async function get(path: string, k = key): Promise<Response> {
  return srv.request(path, { key: k });
}
async function del(path: string, k = key): Promise<Response> {
  return srv.request(path, { method: "DELETE", key: k });
}
async function newCard(body: Record<string, unknown>, k = key): Promise<CardJson> {
  const res = await post("/v1/cards", { card_type: "prop", name: "thing", ...body }, k);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { card: CardJson }).card;
}
async function errorOf(res: Response, status: number): Promise<ErrorJson["error"]> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as ErrorJson;
  expect(Object.keys(body)).toEqual(["error"]);
  return body.error;
}

describe("CRUD on /v1/cards", () => {
  it("creates, reads with edges, lists, and soft-deletes", async () => {
    const fox = await newCard({ card_type: "character", name: "Fox", description: "a red fox" });
    const forest = await newCard({ card_type: "location", name: "Forest" });
    const res = await post("/v1/cards", {
      card_type: "scene",
      name: "Fox in the forest",
      description: "dawn",
      attributes: { mood: "calm", beats: [1, 2] },
      preview_url: "https://cdn.example.com/p.png",
      thumb_url: "/thumbs/t.png",
      visibility_scopes: ["team", "team", "public"],
      parent_id: forest.id,
      edges: [
        { to_card_id: fox.id, edge_type: "features", attributes: { role: "lead" } },
        { to_card_id: forest.id, edge_type: "located_in" },
      ],
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { card: CardJson; node?: unknown };
    expect(body.node).toBeUndefined();
    const scene = body.card;
    expect(scene).toMatchObject({
      card_type: "scene",
      name: "Fox in the forest",
      description: "dawn",
      attributes: { mood: "calm", beats: [1, 2] },
      preview_url: "https://cdn.example.com/p.png",
      thumb_url: "/thumbs/t.png",
      parent_id: forest.id,
      visibility_scopes: ["team", "public"],
    });
    expect(Object.keys(scene).sort()).toEqual(
      ["id", "card_type", "name", "description", "attributes", "preview_url", "thumb_url", "parent_id", "visibility_scopes", "global", "created_at"].sort(),
    );
    expect(new Date(scene.created_at).toISOString()).toBe(scene.created_at);

    const read = await get(`/v1/cards/${scene.id}`);
    expect(read.status).toBe(200);
    const full = (await read.json()) as { card: CardJson; edges: EdgeJson[] };
    expect(full.card).toEqual(scene);
    expect(full.edges.map((e) => [e.from_card_id, e.to_card_id, e.edge_type])).toEqual([
      [scene.id, fox.id, "features"],
      [scene.id, forest.id, "located_in"],
    ]);
    expect(full.edges[0]!.attributes).toEqual({ role: "lead" });
    expect(full.edges[1]!.attributes).toEqual({});

    const minimal = await newCard({ card_type: "voice", name: "Narrator" });
    expect(minimal).toMatchObject({ description: null, attributes: {}, preview_url: null, thumb_url: null, parent_id: null, visibility_scopes: [] });

    const deleted = await del(`/v1/cards/${fox.id}`);
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ ok: true, soft_deleted: true });
    // The edge to a deleted card disappears with it.
    const after = (await (await get(`/v1/cards/${scene.id}`)).json()) as { edges: EdgeJson[] };
    expect(after.edges.map((e) => e.to_card_id)).toEqual([forest.id]);
  });

  it("needs the admin scope to delete and generate to create", async () => {
    const { key: readOnly } = await srv.createKey({ workspace: `ro-${randomUUID()}`, scopes: ["read", "generate"] });
    const card = await newCard({ name: "keep me" }, readOnly);
    expect((await errorOf(await del(`/v1/cards/${card.id}`, readOnly), 403)).code).toBeTruthy();
    const { key: reader } = await srv.createKey({ workspace: `r-${randomUUID()}`, scopes: ["read"] });
    expect((await post("/v1/cards", { card_type: "prop", name: "x" }, reader)).status).toBe(403);
  });

  it("replays a create with the same Idempotency-Key", async () => {
    const headers = { "idempotency-key": `idem-${randomUUID()}` };
    const json = { card_type: "prop", name: "Lantern" };
    const first = await srv.request("/v1/cards", { method: "POST", key, json, headers });
    const second = await srv.request("/v1/cards", { method: "POST", key, json, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(((await second.json()) as { card: CardJson }).card.id).toBe(((await first.json()) as { card: CardJson }).card.id);
  });
});

describe("legacy /v1/nodes", () => {
  it("creates with node_type and dual-emits node/card, nodes/cards", async () => {
    const target = await newCard({ card_type: "style", name: "Ink wash" });
    const res = await post("/v1/nodes", { node_type: "character", name: "Legacy hero", edges: [{ to_node_id: target.id, edge_type: "styled_by" }] });
    expect(res.status).toBe(201);
    expect(res.headers.get("deprecation")).toBe("true");
    const body = (await res.json()) as { card: CardJson; node: CardJson };
    expect(body.node).toEqual(body.card);
    expect(body.card).toMatchObject({ card_type: "character", node_type: "character", name: "Legacy hero" });

    const both = await post("/v1/nodes", { node_type: "prop", card_type: "prop", name: "Same type twice" });
    expect(both.status).toBe(201);

    const read = await get(`/v1/nodes/${body.card.id}`);
    expect(read.status).toBe(200);
    const full = (await read.json()) as { node: CardJson; edges: EdgeJson[]; card?: unknown };
    expect(full.node).toEqual(body.node);
    expect(full.edges).toHaveLength(1);
    expect(full.edges[0]).toMatchObject({ to_card_id: target.id, to_node_id: target.id, edge_type: "styled_by" });
    // The canonical route reads the same card, without the legacy alias.
    const canonical = (await (await get(`/v1/cards/${body.card.id}`)).json()) as { card: CardJson };
    expect(canonical.card.node_type).toBeUndefined();
    expect(canonical.card.id).toBe(body.card.id);

    const list = await get("/v1/nodes?type=character&limit=200");
    expect(list.status).toBe(200);
    const page = (await list.json()) as { nodes: CardJson[]; cards: CardJson[]; count: number; limit: number; offset: number };
    expect(page.nodes).toEqual(page.cards);
    expect(page.nodes.map((n) => n.id)).toContain(body.card.id);
    expect(page.nodes.every((n) => n.card_type === "character" && n.node_type === "character")).toBe(true);
    expect(page.count).toBe(page.nodes.length);
    expect(page).toMatchObject({ limit: 200, offset: 0 });

    const gone = await del(`/v1/nodes/${body.card.id}`);
    expect(gone.status).toBe(200);
    expect(await gone.json()).toEqual({ ok: true, soft_deleted: true });
    expect((await get(`/v1/nodes/${body.card.id}`)).status).toBe(404);
    expect((await del(`/v1/nodes/${body.card.id}`)).status).toBe(404);
    expect((await get(`/v1/cards/${body.card.id}`)).status).toBe(404);
  });

  it("rejects an unknown type in the legacy list filter", async () => {
    const error = await errorOf(await get("/v1/nodes?type=spaceship"), 400);
    expect(error.code).toBe("unknown_card_type");
    expect(error.details?.fields?.[0]?.field).toBe("query.type");
  });
});

describe("validation", () => {
  it("unknown card_type / node_type → 400 unknown_card_type", async () => {
    for (const [path, body, field] of [
      ["/v1/cards", { card_type: "spaceship", name: "x" }, "body.card_type"],
      ["/v1/nodes", { node_type: "spaceship", name: "x" }, "body.node_type"],
    ] as const) {
      const error = await errorOf(await post(path, body), 400);
      expect(error.code).toBe("unknown_card_type");
      expect(error.details?.fields).toEqual([{ field, message: expect.stringContaining("character") }]);
    }
    expect((await errorOf(await get("/v1/cards?type=spaceship"), 400)).code).toBe("unknown_card_type");
    expect((await errorOf(await get("/v1/cards/search?q=fox&card_type=spaceship"), 400)).code).toBe("unknown_card_type");
  });

  it("card_type and node_type that differ, a missing type, a blank name → 400 naming the fields", async () => {
    const conflict = await errorOf(await post("/v1/nodes", { card_type: "prop", node_type: "style", name: "x" }), 400);
    expect(conflict.code).toBe("invalid_request");
    expect(conflict.details?.fields?.map((f) => f.field)).toEqual(["body.node_type"]);
    const missing = await errorOf(await post("/v1/cards", { name: "x" }), 400);
    expect(missing.details?.fields?.map((f) => f.field)).toEqual(["body.card_type"]);
    const blank = await errorOf(await post("/v1/cards", { card_type: "prop", name: "   " }), 400);
    expect(blank.details?.fields?.map((f) => f.field)).toEqual(["body.name"]);
    const noName = await errorOf(await post("/v1/cards", { card_type: "prop" }), 400);
    expect(noName.code).toBe("invalid_request");
    expect(JSON.stringify(noName.details)).toContain("name");
    const wrongShape = await errorOf(await post("/v1/cards", { card_type: "prop", name: "x", attributes: "nope", visibility_scopes: "a" }), 400);
    expect(wrongShape.details?.fields?.map((f) => f.field).sort()).toEqual(["body.attributes", "body.visibility_scopes"]);
    const edgeNoType = await errorOf(await post("/v1/cards", { card_type: "prop", name: "x", edges: [{ to_card_id: randomUUID() }] }), 400);
    expect(edgeNoType.code).toBe("invalid_request");
  });

  it("a missing, foreign or deleted edge target → 400 naming the edge index", async () => {
    const mine = await newCard({ name: "mine" });
    const foreign = await newCard({ name: "theirs" }, otherKey);
    const dead = await newCard({ name: "dead" });
    expect((await del(`/v1/cards/${dead.id}`)).status).toBe(200);
    const bodies: ErrorJson["error"][] = [];
    for (const target of [randomUUID(), foreign.id, dead.id]) {
      const error = await errorOf(
        await post("/v1/cards", { card_type: "scene", name: "s", edges: [{ to_card_id: mine.id, edge_type: "has" }, { to_card_id: target, edge_type: "has" }] }),
        400,
      );
      expect(error.code).toBe("invalid_edge_target");
      expect(error.details?.fields).toEqual([{ field: "body.edges[1].to_card_id", message: "edge 1: target is not a card of this workspace" }]);
      bodies.push(error);
    }
    // A foreign target is indistinguishable from a missing one.
    expect(bodies[1]).toEqual(bodies[0]);
    const legacy = await errorOf(await post("/v1/nodes", { node_type: "scene", name: "s", edges: [{ to_node_id: foreign.id, edge_type: "has" }] }), 400);
    expect(legacy.details?.fields?.[0]?.field).toBe("body.edges[0].to_node_id");
    const differing = await errorOf(await post("/v1/cards", { card_type: "scene", name: "s", edges: [{ to_card_id: mine.id, to_node_id: foreign.id, edge_type: "has" }] }), 400);
    expect(differing.details?.fields?.[0]?.field).toBe("body.edges[0].to_node_id");
    const badUuid = await errorOf(await post("/v1/cards", { card_type: "scene", name: "s", edges: [{ to_card_id: "not-a-uuid", edge_type: "has" }] }), 400);
    expect(badUuid.code).toBe("invalid_request");
    // Nothing was created by the failed attempts.
    const list = (await (await get("/v1/cards?type=scene&limit=200")).json()) as { data: CardJson[] };
    expect(list.data.filter((c) => c.name === "s")).toEqual([]);
  });

  it("a foreign, missing or deleted parent → 400 invalid_parent", async () => {
    const foreign = await newCard({ name: "their parent" }, otherKey);
    const dead = await newCard({ name: "dead parent" });
    await del(`/v1/cards/${dead.id}`);
    const errors: ErrorJson["error"][] = [];
    for (const parent of [foreign.id, randomUUID(), dead.id]) {
      const error = await errorOf(await post("/v1/cards", { card_type: "prop", name: "child", parent_id: parent }), 400);
      expect(error.code).toBe("invalid_parent");
      expect(error.details?.fields?.map((f) => f.field)).toEqual(["body.parent_id"]);
      errors.push(error);
    }
    expect(errors[0]).toEqual(errors[1]);
    const nullParent = await newCard({ name: "orphan", parent_id: null });
    expect(nullParent.parent_id).toBeNull();
  });

  it("bad query parameters and bad ids → 400, never 500", async () => {
    for (const path of ["/v1/cards?limit=0", "/v1/cards?limit=201", "/v1/cards?offset=-1", "/v1/cards?globals_only=2", "/v1/cards?parent_id=nope", "/v1/cards?colour=red"]) {
      expect((await errorOf(await get(path), 400)).code).toBe("invalid_request");
    }
    for (const path of ["/v1/cards/not-a-uuid", "/v1/cards/not-a-uuid/render", "/v1/nodes/not-a-uuid"]) {
      expect((await errorOf(await get(path), 400)).code).toBe("invalid_request");
    }
    expect((await errorOf(await del("/v1/cards/not-a-uuid"), 400)).code).toBe("invalid_request");
  });
});

describe("pagination and filters", () => {
  it("pages 60 cards with a stable order and an exact count", async () => {
    const { key: k } = await srv.createKey({ workspace: `pages-${randomUUID()}` });
    const created: CardJson[] = [];
    for (let i = 0; i < 60; i++) created.push(await newCard({ card_type: i % 3 === 0 ? "style" : "prop", name: `card ${i}` }, k));
    const expected = [...created].sort((a, b) => b.created_at.localeCompare(a.created_at) || a.id.localeCompare(b.id)).map((c) => c.id);

    const first = (await (await get("/v1/cards", k)).json()) as { data: CardJson[]; count: number; limit: number; offset: number };
    expect(first).toMatchObject({ count: 60, limit: 50, offset: 0 });
    expect(first.data).toHaveLength(50);

    const seen: string[] = [];
    for (let offset = 0; offset < 70; offset += 25) {
      const res = await get(`/v1/cards?limit=25&offset=${offset}`, k);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: CardJson[]; count: number; limit: number; offset: number };
      expect(page.count).toBe(60);
      expect(page.limit).toBe(25);
      expect(page.offset).toBe(offset);
      expect(page.data).toHaveLength(Math.max(0, Math.min(25, 60 - offset)));
      seen.push(...page.data.map((c) => c.id));
    }
    expect(seen).toEqual(expected);

    const styles = (await (await get("/v1/cards?type=style&limit=200", k)).json()) as { data: CardJson[]; count: number };
    expect(styles.count).toBe(20);
    expect(styles.data.every((c) => c.card_type === "style")).toBe(true);

    const beyond = (await (await get("/v1/cards?offset=500", k)).json()) as { data: CardJson[]; count: number };
    expect(beyond).toMatchObject({ data: [], count: 60 });

    await del(`/v1/cards/${created[0]!.id}`, k);
    expect(((await (await get("/v1/cards?limit=1", k)).json()) as { count: number }).count).toBe(59);
  });

  it("filters by scope, parent_id and globals_only", async () => {
    const { key: k } = await srv.createKey({ workspace: `filters-${randomUUID()}` });
    const root = await newCard({ name: "root", visibility_scopes: ["team"] }, k);
    const child1 = await newCard({ name: "child 1", parent_id: root.id, visibility_scopes: ["team", "public"] }, k);
    const child2 = await newCard({ name: "child 2", parent_id: root.id }, k);
    const lone = await newCard({ name: "lone", visibility_scopes: ["public"] }, k);
    const ids = async (q: string) => ((await (await get(`/v1/cards?${q}`, k)).json()) as { data: CardJson[] }).data.map((c) => c.id).sort();

    expect(await ids("scope=team")).toEqual([root.id, child1.id].sort());
    expect(await ids("scope=public")).toEqual([child1.id, lone.id].sort());
    expect(await ids("scope=nobody")).toEqual([]);
    expect(await ids(`parent_id=${root.id}`)).toEqual([child1.id, child2.id].sort());
    // globals_only=1 means global cards only (none in this deployment's catalog), not "cards without a parent".
    expect(await ids("globals_only=1")).toEqual([]);
    expect(await ids(`parent_id=${randomUUID()}`)).toEqual([]);
    // Another workspace never sees these, whatever the filter.
    expect(((await (await get(`/v1/cards?parent_id=${root.id}`, otherKey)).json()) as { count: number }).count).toBe(0);
  });
});

describe("workspace isolation", () => {
  it("another workspace's id answers exactly like a missing one on every {id} path", async () => {
    const theirs = await newCard({ card_type: "character", name: "Secret" }, otherKey);
    const missing = randomUUID();
    const paths: Array<[string, "GET" | "DELETE"]> = [
      ["/v1/cards/{id}", "GET"],
      ["/v1/cards/{id}/render", "GET"],
      ["/v1/cards/{id}", "DELETE"],
      ["/v1/nodes/{id}", "GET"],
      ["/v1/nodes/{id}", "DELETE"],
    ];
    for (const [template, method] of paths) {
      const foreign = await srv.request(template.replace("{id}", theirs.id), { method, key });
      const absent = await srv.request(template.replace("{id}", missing), { method, key });
      expect(foreign.status).toBe(404);
      expect(absent.status).toBe(404);
      const foreignBody = await foreign.text();
      expect(foreignBody).toBe(await absent.text());
      expect(JSON.parse(foreignBody)).toEqual({ error: { code: "not_found", message: "Card not found" } });
      expect(foreignBody).not.toContain("Secret");
    }
    // Still alive for its owner, and absent from the caller's lists and search.
    expect((await get(`/v1/cards/${theirs.id}`, otherKey)).status).toBe(200);
    const list = (await (await get("/v1/cards?limit=200")).json()) as { data: CardJson[] };
    expect(list.data.map((c) => c.id)).not.toContain(theirs.id);
    const search = (await (await get("/v1/cards/search?q=Secret")).json()) as { items: Array<{ id: string }> };
    expect(search.items.map((i) => i.id)).not.toContain(theirs.id);
  });
});

describe("soft delete", () => {
  it("hides the card from get, list, search and render; a second delete is 404", async () => {
    const { key: k } = await srv.createKey({ workspace: `delete-${randomUUID()}` });
    const card = await newCard({ card_type: "prop", name: "Crystal skull", description: "glowing" }, k);
    expect(((await (await get("/v1/cards/search?q=crystal%20skull", k)).json()) as { total: number }).total).toBe(1);
    expect((await del(`/v1/cards/${card.id}`, k)).status).toBe(200);
    const second = await errorOf(await del(`/v1/cards/${card.id}`, k), 404);
    expect(second).toEqual({ code: "not_found", message: "Card not found" });
    expect((await get(`/v1/cards/${card.id}`, k)).status).toBe(404);
    expect((await get(`/v1/cards/${card.id}/render`, k)).status).toBe(404);
    expect(((await (await get("/v1/cards", k)).json()) as { count: number }).count).toBe(0);
    const search = (await (await get("/v1/cards/search?q=crystal%20skull", k)).json()) as { items: unknown[]; total: number };
    expect(search).toMatchObject({ items: [], total: 0 });
    // The row is kept (soft), with deleted_at set.
    const row = await srv.runtime.db.prisma.card.findUnique({ where: { id: card.id } });
    expect(row?.deletedAt).toBeInstanceOf(Date);
  });

  it("two concurrent deletes: one 200, one 404", async () => {
    const card = await newCard({ name: "race" });
    const statuses = (await Promise.all([del(`/v1/cards/${card.id}`), del(`/v1/nodes/${card.id}`)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 404]);
  });
});

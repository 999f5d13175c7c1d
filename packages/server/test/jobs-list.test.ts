/**
 * `GET /v1/jobs`: the workspace's jobs newest first, cursor pages without duplicates or gaps,
 * each filter, `queue_position` of queued jobs, bad input as 400 (never 500), scope and
 * workspace isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, type JobBody } from "./polling.ts";

let srv: TestServer;
let keyA: { key: string; key_id: string; workspace_id: string };
let keyB: { key: string; key_id: string; workspace_id: string };
const imageIds: string[] = [];
let audioId: string;
let betweenAt: string;

type Page = { data: Array<JobBody & { model: string | null; created_at: string; queue_position?: number | null }>; next_cursor: string | null };

async function submit(key: string, path: string, json: unknown): Promise<string> {
  const res = await srv.request(path, { method: "POST", key, json });
  expect(res.status).toBe(202);
  return ((await res.json()) as JobBody).job_id;
}

async function list(query: string, key = keyA.key): Promise<Page> {
  const res = await srv.request(`/v1/jobs${query}`, { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
}

beforeAll(async () => {
  srv = await startTestServer();
  keyA = await srv.createKey({ workspace: "jobs-list" });
  keyB = await srv.createKey({ workspace: "jobs-list" });
  expect(keyB.workspace_id).toBe(keyA.workspace_id);
  for (let i = 0; i < 5; i++) imageIds.push(await submit(keyA.key, "/v1/images/generate", { model: "local/echo", prompt: `a ${i}` }));
  await new Promise((r) => setTimeout(r, 20));
  betweenAt = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 3; i++) imageIds.push(await submit(keyB.key, "/v1/images/generate", { model: "local/echo", prompt: `b ${i}` }));
  audioId = await submit(keyA.key, "/v1/audio/generate", { model: "local/tts", text: "Hello list." });
  for (const id of [...imageIds, audioId]) await waitForJob(srv, keyA.key, id);
  // Another workspace's job, never listed.
  const other = await srv.createKey({ workspace: "jobs-list-other" });
  await waitForJob(srv, other.key, await submit(other.key, "/v1/images/generate", { model: "local/echo", prompt: "not yours" }));
}, 120_000);
afterAll(() => srv?.close());

describe("GET /v1/jobs", () => {
  it("pages through every job of the workspace, newest first, without duplicates", async () => {
    const seen: Page["data"] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(`?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.data.length).toBeLessThanOrEqual(4);
      seen.push(...page.data);
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    const ids = seen.map((j) => j.job_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...imageIds, audioId].sort());
    const times = seen.map((j) => Date.parse(j.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(seen[0]!.job_id).toBe(audioId);
    expect(seen.every((j) => j.status === "completed" && j.queue_position === null)).toBe(true);
  });

  it("filters by status, type, model, key and creation time", async () => {
    expect((await list("?type=audio")).data.map((j) => j.job_id)).toEqual([audioId]);
    expect((await list("?model=local%2Ftts")).data.map((j) => j.job_id)).toEqual([audioId]);
    expect((await list("?model=local%2Fecho&limit=100")).data).toHaveLength(8);
    expect((await list("?status=completed&limit=100")).data).toHaveLength(9);
    expect((await list("?status=failed")).data).toEqual([]);
    expect((await list(`?api_key_id=${keyB.key_id}`)).data.map((j) => j.job_id).sort()).toEqual(imageIds.slice(5).sort());
    const before = (await list(`?created_before=${encodeURIComponent(betweenAt)}&limit=100`)).data.map((j) => j.job_id);
    expect(before.sort()).toEqual(imageIds.slice(0, 5).sort());
    const after = (await list(`?created_after=${encodeURIComponent(betweenAt)}&type=image`)).data.map((j) => j.job_id);
    expect(after.sort()).toEqual(imageIds.slice(5).sort());
    // Filters hold across pages: the cursor carries only the position.
    const first = await list(`?model=local%2Fecho&limit=5`);
    const second = await list(`?model=local%2Fecho&limit=5&cursor=${first.next_cursor}`);
    expect(second.next_cursor).toBeNull();
    expect([...first.data, ...second.data].map((j) => j.job_id).sort()).toEqual([...imageIds].sort());
  });

  it("reports queue_position for queued jobs (1 + queued jobs of the lane before it), null otherwise", async () => {
    const [older, newer] = [imageIds[0]!, imageIds[1]!];
    // Shaped directly (a real queued job starts at once here); updated_at now keeps the reconciler away.
    for (const id of [older, newer]) await srv.runtime.db.prisma.job.update({ where: { id }, data: { status: "queued", updatedAt: new Date() } });
    try {
      const byId = new Map((await list("?status=queued")).data.map((j) => [j.job_id, j.queue_position]));
      expect(byId.get(older)).toBe(1);
      expect(byId.get(newer)).toBe(2);
      const one = (await (await srv.request(`/v1/jobs/${newer}`, { key: keyA.key })).json()) as { queue_position: number | null };
      expect(one.queue_position).toBe(2);
      const done = (await (await srv.request(`/v1/jobs/${audioId}`, { key: keyA.key })).json()) as { queue_position: number | null };
      expect(done.queue_position).toBeNull();
    } finally {
      for (const id of [older, newer]) await srv.runtime.db.prisma.job.update({ where: { id }, data: { status: "completed" } });
    }
  });

  it("answers 400 in the Error shape for bad input, never 500", async () => {
    const crafted = Buffer.from(JSON.stringify(["2026-01-01T00:00:00.000Z", "not-a-uuid"])).toString("base64url");
    const farFuture = Buffer.from(JSON.stringify(["+275760-09-13T00:00:00.000Z", "00000000-0000-4000-8000-000000000000"])).toString("base64url");
    for (const [query, code] of [
      ["?cursor=%25%25%25", "invalid_cursor"],
      [`?cursor=${crafted}`, "invalid_cursor"],
      [`?cursor=${farFuture}`, "invalid_cursor"],
      ["?cursor=eyJ9", "invalid_cursor"],
      ["?limit=0", undefined],
      ["?limit=101", undefined],
      ["?limit=abc", undefined],
      ["?status=lost", undefined],
      ["?type=poem", undefined],
      ["?created_after=yesterday", undefined],
      ["?created_before=2026-13-45T00:00:00Z", undefined],
      ["?api_key_id=nope", undefined],
      [`?model=${"m".repeat(121)}`, undefined],
    ] as const) {
      const res = await srv.request(`/v1/jobs${query}`, { key: keyA.key });
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(typeof body.error.code, query).toBe("string");
      if (code) expect(body.error.code, query).toBe(code);
    }
  });

  it("needs the read scope and never shows another workspace's jobs", async () => {
    const writer = await srv.createKey({ workspace: "jobs-list", scopes: ["generate"] });
    const res = await srv.request("/v1/jobs", { key: writer.key });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("insufficient_scope");
    expect((await srv.request("/v1/jobs")).status).toBe(401);
    const stranger = await srv.createKey({ workspace: "jobs-list-stranger" });
    expect((await list("", stranger.key)).data).toEqual([]);
    expect((await list(`?api_key_id=${keyA.key_id}`, stranger.key)).data).toEqual([]);
  });
});

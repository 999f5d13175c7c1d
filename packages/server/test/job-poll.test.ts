/**
 * `GET /v1/jobs/{id}` reads only the body's columns on the raw driver (ARCHITECTURE.md,
 * Money, "Hot path"): its answer must stay byte-identical to the body built from the
 * full Prisma row, in every state, and scoped to the caller's workspace.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findWorkspaceJob, findWorkspaceJobBody, toJobBody, jobError } from "@aeriox/core/jobs";
import type { UrlSigner } from "@aeriox/core/assets";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, type JobBody } from "./polling.ts";

let srv: TestServer;
let key: string;
let workspaceId: string;

beforeAll(async () => {
  srv = await startTestServer();
  ({ key, workspace_id: workspaceId } = await srv.createKey());
});
afterAll(() => srv?.close());

async function submit(json: unknown): Promise<string> {
  const res = await srv.request("/v1/images/generate", { method: "POST", key, json });
  expect(res.status).toBe(202);
  return ((await res.json()) as JobBody).job_id;
}

/**
 * The body as the full-row read built it, as JSON text, with the queue position the poll adds
 * (1 for a queued job here: it is the only queued one of its lane; null otherwise).
 */
async function expectedText(id: string, signer: UrlSigner = srv.runtime.signer): Promise<string> {
  const job = await findWorkspaceJob(srv.runtime, workspaceId, id);
  return JSON.stringify(toJobBody({ ...job, queuePosition: job.status === "queued" ? 1 : null }, signer));
}

describe("GET /v1/jobs/{id}", () => {
  it("answers byte for byte what the full row gives: failed with an error and a prism id, cancelled, queued", async () => {
    // Rows shaped directly (this is about reading them): terminal states without signed
    // URLs, so the HTTP text itself can be compared.
    const shapes = [
      { status: "failed" as const, error: jobError("provider_error", "It broke", { attempt: 3, nested: { b: 1, a: [1, "x"] } }) as object, prismId: "prism_test", chargedCostMicros: null, progressPct: null },
      { status: "cancelled" as const, error: undefined, prismId: null, chargedCostMicros: null, progressPct: null },
      { status: "queued" as const, error: undefined, prismId: null, chargedCostMicros: null, progressPct: null, completedAt: null },
      { status: "running" as const, error: undefined, prismId: null, chargedCostMicros: null, progressPct: 42, completedAt: null },
    ];
    for (const shape of shapes) {
      const id = await submit({ model: "local/image", prompt: shape.status });
      await waitForJob(srv, key, id);
      await srv.runtime.db.prisma.job.update({ where: { id }, data: { completedAt: new Date("2026-03-04T05:06:07.089Z"), outputAssetIds: [], ...shape } });
      const res = await srv.request(`/v1/jobs/${id}`, { key });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ status: shape.status, ...(shape.prismId ? { prism_id: shape.prismId } : {}) });
      expect(text).toBe(await expectedText(id));
    }
  });

  it("a completed job: same fields, asset ids and signed URLs as the full row (same signing instant)", async () => {
    const id = await submit({ model: "local/image", prompt: "done", seed: 3 });
    const done = await waitForJob(srv, key, id);
    expect(done.status).toBe("completed");
    const now = Date.now();
    const fixed: UrlSigner = { sign: (assetId) => srv.runtime.signer.sign(assetId, now), verify: srv.runtime.signer.verify };
    const fast = JSON.stringify(toJobBody(await findWorkspaceJobBody(srv.runtime, workspaceId, id), fixed));
    expect(fast).toBe(await expectedText(id, fixed));
    expect(JSON.parse(fast).asset_ids).toHaveLength(1);
  });

  it("another workspace's job is 404, identical to a missing one", async () => {
    const id = await submit({ model: "local/image", prompt: "mine" });
    const other = (await srv.createKey({ workspace: "someone-else" })).key;
    const foreign = await srv.request(`/v1/jobs/${id}`, { key: other });
    const missing = await srv.request(`/v1/jobs/00000000-0000-4000-8000-000000000000`, { key: other });
    expect(foreign.status).toBe(404);
    expect(await foreign.text()).toBe(await missing.text());
    await waitForJob(srv, key, id);
  });

  it("concurrent reads (which share statements on PostgreSQL) each get their own job, and 404 for another workspace's or a missing one", async () => {
    const other = await srv.createKey({ workspace: "poll-neighbour" });
    const mine = [await submit({ model: "local/echo", prompt: "a" }), await submit({ model: "local/echo", prompt: "b" })];
    const theirs: string[] = [];
    for (const prompt of ["c", "d"]) {
      const res = await srv.request("/v1/images/generate", { method: "POST", key: other.key, json: { model: "local/echo", prompt } });
      theirs.push(((await res.json()) as JobBody).job_id);
    }
    for (const id of mine) await waitForJob(srv, key, id);
    for (const id of theirs) await waitForJob(srv, other.key, id);
    const missing = "00000000-0000-4000-8000-000000000000";
    // Every combination, several times over, in a fixed shuffled order (a regular pattern could
    // hide answers handed out in the wrong order): [workspace, job id, expected job id or 404].
    const probes: Array<[string, string, string | 404]> = [];
    for (let round = 0; round < 8; round++) {
      for (const id of mine) probes.push([workspaceId, id, id], [other.workspace_id, id, 404]);
      for (const id of theirs) probes.push([other.workspace_id, id, id], [workspaceId, id, 404]);
      probes.push([round % 2 ? workspaceId : other.workspace_id, missing, 404]);
    }
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = probes.length - 1; i > 0; i--) {
      const j = next() % (i + 1);
      [probes[i], probes[j]] = [probes[j]!, probes[i]!];
    }
    // Started in one go, as the poll handler calls it: all but the first of each lane queue and share a statement.
    const answers = await Promise.allSettled(probes.map(([ws, id]) => findWorkspaceJobBody(srv.runtime, ws, id)));
    for (const [i, answer] of answers.entries()) {
      const [, id, expected] = probes[i]!;
      if (expected === 404) expect(answer, `${id} as probe ${i}`).toMatchObject({ status: "rejected", reason: { status: 404 } });
      else expect(answer, `${id} as probe ${i}`).toMatchObject({ status: "fulfilled", value: { id: expected } });
    }
    // And over HTTP.
    const res = await Promise.all([...mine.map((id) => srv.request(`/v1/jobs/${id}`, { key: other.key })), ...theirs.map((id) => srv.request(`/v1/jobs/${id}`, { key: other.key }))]);
    expect(res.map((r) => r.status)).toEqual([404, 404, 200, 200]);
  });
});

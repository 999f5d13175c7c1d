/**
 * `GET /v1/jobs/{id}` reads only the body's columns on the raw driver (ARCHITECTURE.md,
 * Money, "Hot path"): its answer must stay byte-identical to the body built from the
 * full Prisma row, in every state, and scoped to the caller's workspace.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findWorkspaceJob, toJobBody, jobError } from "@aeriox/core/jobs";
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
    const { findWorkspaceJobBody } = await import("@aeriox/core/jobs");
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
});

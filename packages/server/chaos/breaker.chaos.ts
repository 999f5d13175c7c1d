/**
 * fal answering 500 (a local stand-in speaking fal's queue protocol, reached by a worker
 * process through msw): the circuit opens after BREAKER_FAL_FAILURE_THRESHOLD failures in the
 * worker, and the API process — which makes no provider call of its own — answers 503
 * circuit_open at submit and lists it in estimates; it closes when the stand-in recovers.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderProceduralPng } from "@aeriox/core/media";
import { startTestServer, type TestServer } from "../test/harness.ts";
import { killSpawned, spawnAeriox } from "../test/processes.ts";
import { allTerminal, call, ledgerAudit, until, print } from "./helpers.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
const PRELOAD = fileURLToPath(new URL("./fal-redirect.mjs", import.meta.url));
const PNG = `data:image/png;base64,${Buffer.from(renderProceduralPng("stand-in", 1, 64, 64)).toString("base64")}`;

/** fal's queue protocol: POST /<model> → {request_id}; GET /<app>/requests/<id>/status; GET /<app>/requests/<id>. */
function falStandIn() {
  const state = { failing: true, submits: 0, failures: 0 };
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    req.resume();
    const path = (req.url ?? "").split("?")[0]!;
    if (state.failing) {
      state.failures += 1;
      return send(500, { detail: "stand-in: internal error" });
    }
    if (req.method === "POST") {
      state.submits += 1;
      const id = randomUUID();
      const app = path.split("/").slice(1, 3).join("/");
      return send(200, { request_id: id, status: "IN_QUEUE", status_url: `https://queue.fal.run/${app}/requests/${id}/status`, response_url: `https://queue.fal.run/${app}/requests/${id}` });
    }
    if (path.endsWith("/status")) return send(200, { status: "COMPLETED" });
    return send(200, { images: [{ url: PNG, content_type: "image/png", width: 64, height: 64 }], has_nsfw_concepts: [false] });
  });
  return { state, server };
}

let srv: TestServer;
const standIn = falStandIn();

describe.skipIf(!multiProcess)("chaos: provider failing", () => {
  beforeAll(async () => {
    standIn.server.listen(0, "127.0.0.1");
    srv = await startTestServer({ worker: false, env: { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "1000", RATE_LIMIT_PER_MINUTE: "1000000" } });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await srv?.close();
    standIn.server.close();
  });

  it("the worker's failures open the circuit the API process answers with 503 circuit_open; it closes on recovery", async () => {
    const breakerEnv = { FAL_KEY: "stand-in-key", BREAKER_FAL_FAILURE_THRESHOLD: "3", BREAKER_FAL_COOLDOWN_MS: "3000", RATE_LIMIT_PER_MINUTE: "1000000", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "1000" };
    const standInUrl = `http://127.0.0.1:${(standIn.server.address() as AddressInfo).port}`;
    await spawnAeriox(srv, "worker", { ...breakerEnv, NODE_OPTIONS: `--import ${PRELOAD}`, FAL_STANDIN_URL: standInUrl });
    // PUBLIC_URL empty: the process names the port it bound (spawnAeriox would give it the test server's).
    const api = (await spawnAeriox(srv, "serve", { ...breakerEnv, PUBLIC_URL: "" })).url!;
    const { key, workspace_id } = await srv.createKey();
    const submit = () => call(api, "/v1/images/generate", { key, json: { model: "fal-ai/flux/schnell", prompt: "a fox", resolution: "512x512" } });

    const accepted: string[] = [];
    for (let i = 0; i < 3; i++) {
      const o = await submit();
      expect(o.status, JSON.stringify(o.body)).toBe(202);
      accepted.push(o.body!.job_id as string);
    }
    // The worker's calls fail; at the threshold the circuit opens in Redis and the API hears of it.
    const refused = await until("503 circuit_open at the API", async () => {
      const o = await submit();
      if (o.status === 202) accepted.push(o.body!.job_id as string);
      return o.status === 503 && o.code === "circuit_open" ? o : null;
    }, 60_000, 300);
    expect(refused.body).toMatchObject({ error: { code: "circuit_open" } });
    const estimate = await call(api, "/v1/estimate", { key, json: { model: "fal-ai/flux/schnell", prompt: "a fox" } });
    expect(estimate.body).toMatchObject({ would_succeed: false, reasons_blocked: ["circuit_open"] });
    print(`[chaos]   estimate while open: ${estimate.status} ${JSON.stringify(estimate.body)}`);
    const failuresWhenOpen = standIn.state.failures;

    // Recovery: after the cool-down one trial passes (single-flight), succeeds, and the circuit closes everywhere.
    standIn.state.failing = false;
    const after = await until("202 at the API after recovery", async () => {
      const o = await submit();
      return o.status === 202 ? o : null;
    }, 60_000, 500);
    accepted.push(after.body!.job_id as string);
    await allTerminal(srv, workspace_id, 120_000);
    const counts = await ledgerAudit(srv, workspace_id, "fal answering 500");
    expect(counts.completed ?? 0).toBeGreaterThanOrEqual(1);
    print(`[chaos]   stand-in failures ${standIn.state.failures} (at open: ${failuresWhenOpen}), successful submits ${standIn.state.submits}, accepted ${accepted.length}`);
  }, 180_000);
});

/**
 * `Prefer: wait=N` (RFC 7240) on the generation endpoints — 200 with the finished job, 202
 * without it or when the wait runs out, invalid preferences ignored, no listener left behind
 * by a client that leaves — and `GET /v1/usage` against the ledger and the wallet.
 */
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

let srv: TestServer;
let key: string;
let workspaceId: string;
let keyId: string;
// A seed image server that answers only when released: keeps a local/image job running.
let gate: http.Server;
let gateUrl: string;
let release: () => void = () => undefined;
let gateHits = 0;

beforeAll(async () => {
  // local/image may fetch its seed from the loopback gate below, and waits for it up to a minute.
  srv = await startTestServer({ providers: { local: { outbound: { allowPrivateNetworks: true, timeoutMs: 60_000, maxBytes: 1 << 20 } } } });
  ({ key, workspace_id: workspaceId, key_id: keyId } = await srv.createKey({ workspace: "prefer-wait" }));
  const released = new Promise<void>((resolve) => (release = resolve));
  gate = http.createServer((_req, res) => {
    gateHits += 1;
    void released.then(() => res.writeHead(404).end());
  });
  gate.listen(0, "127.0.0.1");
  await once(gate, "listening");
  gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/seed.png`;
}, 180_000);
afterAll(async () => {
  release();
  gate?.closeAllConnections();
  gate?.close();
  await srv?.close();
});

const image = (prompt: string, extra: Record<string, unknown> = {}) => ({ model: "local/image", prompt, resolution: "64x64", ...extra });

async function post(path: string, json: unknown, prefer?: string, signal?: AbortSignal) {
  return srv.request(path, { method: "POST", key, json, headers: prefer === undefined ? {} : { prefer }, ...(signal ? { signal } : {}) });
}

describe("Prefer: wait", () => {
  it("answers 200 with the completed job when it ends within the wait, with Preference-Applied", async () => {
    const res = await post("/v1/images/generate", image("a lighthouse at dusk"), "wait=30");
    expect(res.status).toBe(200);
    expect(res.headers.get("preference-applied")).toBe("wait=30");
    const job = (await res.json()) as JobBody & { queue_position: number | null };
    expect(job.status).toBe("completed");
    expect(job.asset_ids).toHaveLength(1);
    expect(job.output_urls).toHaveLength(1);
    expect(job.queue_position).toBeNull();
  });

  it("without the header (or with one it cannot use) answers the usual 202", async () => {
    for (const prefer of [undefined, "respond-async", "wait=soon", "wait=-1", "wait", "wait=1.5", "handling=lenient"]) {
      const res = await post("/v1/images/generate", image(`plain ${prefer}`), prefer);
      expect(res.status, String(prefer)).toBe(202);
      expect(res.headers.get("preference-applied"), String(prefer)).toBeNull();
      const job = (await res.json()) as JobBody;
      expect(["queued", "running", "completed"]).toContain(job.status);
      await waitForJob(srv, key, job.job_id);
    }
  });

  it("caps the wait at 60 s, reads the first wait among several preferences, and covers audio, compose and prisms", async () => {
    const capped = await post("/v1/images/generate", image("capped"), "respond-async, wait=3600");
    expect(capped.status).toBe(200);
    expect(capped.headers.get("preference-applied")).toBe("wait=60");
    const done = (await capped.json()) as JobBody;
    const assetId = done.asset_ids![0]!;

    const audio = await post("/v1/audio/generate", { model: "local/tts", text: "Waiting politely." }, "wait=20");
    expect(audio.status).toBe(200);
    expect(((await audio.json()) as JobBody).status).toBe("completed");

    const compose = await post("/v1/compose", { segments: [{ asset_id: assetId, start_time: 0, duration: 1 }] }, 'wait="30"');
    expect(compose.status).toBe(200);
    expect(compose.headers.get("preference-applied")).toBe("wait=30");
    const composed = (await compose.json()) as JobBody;
    expect(composed).toMatchObject({ type: "compose", status: "completed" });

    const prisms = (await (await srv.request("/v1/prisms", { key })).json()) as { data: Array<{ id: string; compatible_with: string[] }> };
    const prism = await post(`/v1/prisms/${prisms.data.find((p) => p.compatible_with.includes("image"))!.id}/apply`, { asset_id: assetId }, "wait=30");
    expect(prism.status).toBe(200);
    expect(((await prism.json()) as JobBody).status).toBe("completed");
  });

  it("answers 202 with Preference-Applied when the job outlasts the wait", async () => {
    const res = await post("/v1/images/generate", image("slow", { seed_image_url: gateUrl }), "wait=1");
    expect(res.status).toBe(202);
    expect(res.headers.get("preference-applied")).toBe("wait=1");
    const job = (await res.json()) as JobBody & { queue_position: number | null };
    expect(["queued", "running"]).toContain(job.status);
  });

  it("a client that goes away while waiting leaves no listener behind", async () => {
    const before = srv.runtime.jobEvents.listenerCount();
    const ctl = new AbortController();
    const pending = post("/v1/images/generate", image("abandoned", { seed_image_url: gateUrl }), "wait=60", ctl.signal).catch((e: unknown) => e);
    const hits = gateHits;
    const until = async (cond: () => boolean) => {
      const deadline = Date.now() + 15_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error("timed out");
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await until(() => gateHits > hits && srv.runtime.jobEvents.listenerCount() > before);
    const waiting = srv.runtime.jobEvents.listenerCount();
    ctl.abort();
    expect(await pending).toBeInstanceOf(Error);
    // The request's listener is gone (the running job's own, in this process's runner, stays until it ends).
    await until(() => srv.runtime.jobEvents.listenerCount() === waiting - 1);
    release();
    await until(() => srv.runtime.jobEvents.listenerCount() === 0);
  });
});

describe("GET /v1/usage", () => {
  it("matches the ledger and the wallet after completed jobs and one failed and refunded job", async () => {
    const usage = await srv.createKey({ workspace: "usage" });
    const wait = { prefer: "wait=30" };
    const ids: string[] = [];
    for (const prompt of ["one", "two", "three"]) {
      const res = await srv.request("/v1/images/generate", { method: "POST", key: usage.key, json: image(prompt), headers: wait });
      expect(res.status).toBe(200);
      ids.push(((await res.json()) as JobBody).job_id);
    }
    const tts = await srv.request("/v1/audio/generate", { method: "POST", key: usage.key, json: { model: "local/tts", text: "Usage." }, headers: wait });
    expect(tts.status).toBe(200);
    // Refused by the guarded fetcher (a metadata address is refused even with private networks open): failed, hold released.
    const bad = await srv.request("/v1/images/generate", { method: "POST", key: usage.key, json: image("fails", { seed_image_url: "http://169.254.169.254/x.png" }), headers: wait });
    expect(bad.status).toBe(200);
    expect(((await bad.json()) as JobBody).status).toBe("failed");

    const res = await srv.request("/v1/usage", { key: usage.key });
    expect(res.status).toBe(200);
    type Figures = { jobs: number; completed: number; failed: number; charges: number; refunds: number; charged_micros: number; charged_usd: number; net_micros: number; net_usd: number; refunded_micros: number };
    const body = (await res.json()) as { group_by: string; currency: string; from: string; to: string; totals: Figures; data: Array<Figures & { key: string | null }> };
    expect(body.group_by).toBe("day");
    expect(body.currency).toBe("USD");
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(30 * 86_400_000);
    expect(body.totals).toMatchObject({ jobs: 5, completed: 4, failed: 1, charges: 4, refunds: 0, refunded_micros: 0 });

    // The ledger's captures (and refunds) of the workspace, and the wallet: trial credit minus net spend.
    const entries = await srv.runtime.db.prisma.ledgerEntry.findMany({ where: { workspace: { id: usage.workspace_id }, kind: { in: ["capture", "refund"] } } });
    const net = -entries.reduce((sum, e) => sum + e.amountMicros, 0n);
    expect(net).toBeGreaterThan(0n);
    expect(body.totals.net_micros).toBe(Number(net));
    expect(body.totals.charged_micros).toBe(Number(net));
    expect(body.totals.net_usd).toBe(Number(net) / 1e6);
    const credits = await srv.runtime.db.prisma.ledgerEntry.aggregate({ where: { workspaceId: usage.workspace_id, kind: { notIn: ["capture", "refund"] } }, _sum: { amountMicros: true } });
    expect((await walletOf(srv, usage.key)).total_micros).toBe(Number(credits._sum.amountMicros! - net));
    // One day, the same totals.
    expect(body.data).toHaveLength(1);
    expect(body.data[0]!.key).toBe(new Date().toISOString().slice(0, 10));
    expect(body.data[0]!.net_micros).toBe(body.totals.net_micros);

    const byType = (await (await srv.request("/v1/usage?group_by=type", { key: usage.key })).json()) as typeof body;
    expect(Object.fromEntries(byType.data.map((g) => [g.key, g.jobs]))).toEqual({ image: 4, audio: 1 });
    expect(byType.data.reduce((s, g) => s + g.net_micros, 0)).toBe(body.totals.net_micros);
    const byModel = (await (await srv.request("/v1/usage?group_by=model", { key: usage.key })).json()) as typeof body;
    expect(byModel.data.find((g) => g.key === "local/image")).toMatchObject({ jobs: 4, completed: 3, failed: 1, charges: 3 });
    const byKey = (await (await srv.request("/v1/usage?group_by=key", { key: usage.key })).json()) as typeof body;
    expect(byKey.data.map((g) => g.key)).toEqual([usage.key_id]);

    // Another workspace sees none of it.
    const mine = (await (await srv.request("/v1/usage", { key })).json()) as typeof body;
    expect(mine.data.every((g) => g.key !== null)).toBe(true);
    expect(mine.totals.net_micros).not.toBe(body.totals.net_micros);
    void keyId;
    void workspaceId;
  });

  it("bounds the range and refuses bad input with 400", async () => {
    const q = (from: string, to?: string) => `?from=${encodeURIComponent(from)}${to ? `&to=${encodeURIComponent(to)}` : ""}`;
    const ok = await srv.request(`/v1/usage${q("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")}`, { key });
    expect(ok.status).toBe(200);
    for (const [query, code] of [
      [q("2026-01-01T00:00:00Z", "2027-01-03T00:00:00Z"), "range_too_large"],
      [q("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"), "invalid_range"],
      [q("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), "invalid_range"],
      [`?to=${encodeURIComponent("1969-12-31T00:00:00Z")}`, "invalid_request"],
      ["?from=yesterday", undefined],
      ["?group_by=week", undefined],
    ] as const) {
      const res = await srv.request(`/v1/usage${query}`, { key });
      expect(res.status, query).toBe(400);
      const err = ((await res.json()) as { error: { code: string } }).error;
      if (code) expect(err.code, query).toBe(code);
    }
    const writer = await srv.createKey({ workspace: "prefer-wait", scopes: ["generate"] });
    expect((await srv.request("/v1/usage", { key: writer.key })).status).toBe(403);
  });
});

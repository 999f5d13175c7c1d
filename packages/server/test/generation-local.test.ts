/**
 * Generation end to end with the offline local/* models, through HTTP only:
 * submit → poll → download real media; settlement and refunds checked against
 * the ledger invariants after every scenario.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

let srv: TestServer;
let key: string;
let workspaceId: string;

beforeAll(async () => {
  srv = await startTestServer({ env: { PROMPT_BLOCKLIST: "forbidden fruit,badword", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "50" } });
  ({ key, workspace_id: workspaceId } = await srv.createKey());
});
afterAll(() => srv?.close());
afterEach(async () => {
  const audit = await auditWallet(srv.runtime.db, workspaceId);
  expect(audit.problems).toEqual([]);
});

async function submit(path: string, body: unknown, k = key): Promise<Response> {
  return srv.request(path, { method: "POST", key: k, json: body });
}

async function download(url: string): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  expect(url.startsWith(srv.url + "/v1/assets/")).toBe(true);
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type"), bytes: Buffer.from(await res.arrayBuffer()) };
}

describe("local/image", () => {
  it("queues, completes, charges the estimate and serves a PNG", async () => {
    const before = await walletOf(srv, key);
    expect(before.available_micros).toBe(5_000_000); // the $5 trial
    const res = await submit("/v1/images/generate", { model: "local/image", prompt: "a red fox in snow", aspect_ratio: "16:9", seed: 7 });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as JobBody;
    expect(queued.status).toBe("queued");
    expect(queued.type).toBe("image");
    expect(queued.estimated_cost_usd).toBeGreaterThan(0);

    const job = await waitForJob(srv, key, queued.job_id);
    expect(job.status).toBe("completed");
    expect(job.progress_pct).toBe(100);
    expect(job.charged_cost_usd).toBe(queued.estimated_cost_usd);
    expect(job.output_urls).toHaveLength(1);
    expect(job.asset_ids).toHaveLength(1);

    const file = await download(job.output_urls![0]!);
    expect(file.status).toBe(200);
    expect(file.type).toBe("image/png");
    expect(file.bytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    // 16:9: the IHDR width is larger than the height
    expect(file.bytes.readUInt32BE(16)).toBeGreaterThan(file.bytes.readUInt32BE(20));

    const after = await walletOf(srv, key);
    expect(before.available_micros - after.available_micros).toBe(Math.round(queued.estimated_cost_usd! * 1e6));
    expect(after.reserved_micros).toBe(0);
  });

  it("rejects a tampered or expired download URL with 403", async () => {
    const res = await submit("/v1/images/generate", { model: "local/image", prompt: "a lighthouse" });
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    const url = new URL(job.output_urls![0]!);
    const tampered = new URL(url);
    tampered.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 60));
    const forged = await fetch(tampered);
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("invalid_signature");
    const signer = srv.runtime.signer;
    const expired = await fetch(signer.sign(job.asset_ids![0]!, Date.now() - 10 * 86_400_000).url);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe("url_expired");
  });
});

describe("local/video and compose", () => {
  it("makes an MP4, and composes two of them into one", async () => {
    const ids: string[] = [];
    for (const prompt of ["waves", "clouds"]) {
      const res = await submit("/v1/videos/generate", { model: "local/video", prompt, duration_s: 1 });
      expect(res.status).toBe(202);
      const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id, 60_000);
      expect(job.status).toBe("completed");
      const file = await download(job.output_urls![0]!);
      expect(file.type).toBe("video/mp4");
      expect(file.bytes.subarray(4, 8).toString()).toBe("ftyp");
      ids.push(job.asset_ids![0]!);
    }
    const res = await submit("/v1/compose", {
      segments: ids.map((asset_id) => ({ asset_id, start_time: 0, duration: 1 })),
      output_resolution: "360p",
    });
    expect(res.status).toBe(202);
    const ack = (await res.json()) as { id: string; type: string; status: string; operation_id: string; estimated_cost_usd_micros: number };
    expect(ack).toMatchObject({ type: "compose", status: "queued", operation_id: "compose.stitch_per_minute" });
    expect(ack.estimated_cost_usd_micros).toBeGreaterThan(0);
    const job = await waitForJob(srv, key, ack.id, 60_000);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    const file = await download(job.output_urls![0]!);
    expect(file.bytes.subarray(4, 8).toString()).toBe("ftyp");
  });

  it("names the segment whose asset is missing or foreign", async () => {
    const other = await srv.createKey();
    const res = await submit("/v1/images/generate", { model: "local/image", prompt: "x" }, other.key);
    const foreign = await waitForJob(srv, other.key, ((await res.json()) as JobBody).job_id);
    const composed = await submit("/v1/compose", {
      segments: [
        { asset_id: "00000000-0000-4000-8000-000000000000", start_time: 0, duration: 1 },
        { asset_id: foreign.asset_ids![0], start_time: 0, duration: 1 },
      ],
    });
    expect(composed.status).toBe(400);
    const error = ((await composed.json()) as { error: { code: string; details: { field: string } } }).error;
    expect(error.code).toBe("asset_not_found");
    expect(error.details.field).toBe("body.segments[0].asset_id");
  });
});

describe("local/tts", () => {
  it("answers synchronously with a completed job and a WAV", async () => {
    const res = await submit("/v1/audio/generate", { text: "Hello from the offline voice.", model: "local/tts" });
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobBody;
    expect(job.status).toBe("completed");
    const file = await download(job.output_urls![0]!);
    expect(file.type).toBe("audio/wav");
    expect(file.bytes.subarray(0, 4).toString()).toBe("RIFF");
  });
});

describe("refusals before any reservation", () => {
  it("unknown model → 400 unknown_model; image model on the video endpoint → 400 model_kind_mismatch", async () => {
    const unknown = await submit("/v1/images/generate", { model: "nope/model", prompt: "x" });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("unknown_model");
    const mismatch = await submit("/v1/videos/generate", { model: "local/image", prompt: "x" });
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { code: string } }).error.code).toBe("model_kind_mismatch");
  });

  it("blocked prompt → 422 prompt_blocked and nothing reserved", async () => {
    const before = await walletOf(srv, key);
    const res = await submit("/v1/images/generate", { model: "local/image", prompt: "A BADWORD here" });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("prompt_blocked");
    expect(await walletOf(srv, key)).toEqual(before);
  });

  it("insufficient funds → 402 with needed and available", async () => {
    const poor = await srv.createKey({ workspace: `poor-${Date.now()}` });
    await srv.runtime.db.prisma.$executeRaw`UPDATE wallets SET balance_micros = 10 WHERE workspace_id = ${poor.workspace_id}::uuid`;
    await srv.runtime.db.prisma.$executeRaw`UPDATE ledger_entries SET amount_micros = 10 WHERE workspace_id = ${poor.workspace_id}::uuid`;
    const res = await submit("/v1/images/generate", { model: "local/image", prompt: "x" }, poor.key);
    expect(res.status).toBe(402);
    const error = ((await res.json()) as { error: { code: string; details: Record<string, number> } }).error;
    expect(error.code).toBe("insufficient_funds");
    expect(error.details.available_micros).toBe(10);
    expect(error.details.needed_micros).toBeGreaterThan(10);
  });
});

describe("jobs", () => {
  it("cancel refunds a queued job; a second cancel is 409", async () => {
    const before = await walletOf(srv, key);
    // A long video keeps the job busy long enough to cancel it.
    const res = await submit("/v1/videos/generate", { model: "local/video", prompt: "long", duration_s: 30 });
    const queued = (await res.json()) as JobBody;
    const cancel = await srv.request(`/v1/jobs/${queued.job_id}`, { method: "DELETE", key });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as JobBody).status).toBe("cancelled");
    const again = await srv.request(`/v1/jobs/${queued.job_id}`, { method: "DELETE", key });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("job_terminal");
    const after = await walletOf(srv, key);
    expect(after.available_micros).toBe(before.available_micros);
    // it stays cancelled even though a worker may have started it
    await new Promise((r) => setTimeout(r, 500));
    expect(((await (await srv.request(`/v1/jobs/${queued.job_id}`, { key })).json()) as JobBody).status).toBe("cancelled");
  });

  it("another workspace's job is a 404 identical to a missing one", async () => {
    const other = await srv.createKey();
    const res = await submit("/v1/images/generate", { model: "local/image", prompt: "private" });
    const id = ((await res.json()) as JobBody).job_id;
    for (const path of [`/v1/jobs/${id}`, `/v1/generations/${id}`, `/v1/jobs/${id}/events`]) {
      const foreign = await srv.request(path, { key: other.key });
      const missing = await srv.request(path.replace(id, "00000000-0000-4000-8000-000000000000"), { key: other.key });
      expect(foreign.status).toBe(404);
      expect(await foreign.json()).toEqual(await missing.json());
    }
    const cancel = await srv.request(`/v1/jobs/${id}`, { method: "DELETE", key: other.key });
    expect(cancel.status).toBe(404);
    await waitForJob(srv, key, id);
  });

  it("streams status changes as Server-Sent Events until the job ends", async () => {
    const res = await submit("/v1/images/generate", { model: "local/image", prompt: "streamed" });
    const id = ((await res.json()) as JobBody).job_id;
    const stream = await srv.request(`/v1/jobs/${id}/events`, { key });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const text = await stream.text();
    const events = text.split("\n\n").filter((e) => e.startsWith("event: job")).map((e) => JSON.parse(e.split("\ndata: ")[1]!) as JobBody);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.at(-1)!.status).toBe("completed");
  });

  it("a reconnect with Last-Event-ID is not sent the state it already has", async () => {
    // One job per workspace on the lane: the second stays queued, unchanged, while the first runs.
    const lane = await startTestServer({ env: { LANE_WORKSPACE_CONCURRENCY: "1" } });
    try {
      const k = (await lane.createKey()).key;
      const video = async (prompt: string) =>
        ((await (await lane.request("/v1/videos/generate", { method: "POST", key: k, json: { model: "local/video", prompt, duration_s: 30 } })).json()) as JobBody).job_id;
      const running = await video("first");
      const queued = await video("second");
      const events = (text: string) =>
        text.split("\n\n").filter((e) => e.startsWith("event: job")).map((e) => ({ id: /\nid: (.+)/.exec(e)![1]!, job: JSON.parse(e.split("\ndata: ")[1]!) as JobBody }));

      const ac = new AbortController();
      const first = await lane.request(`/v1/jobs/${queued}/events`, { key: k, signal: ac.signal });
      const reader = first.body!.getReader();
      let seen = "";
      while (!seen.includes("\n\n")) seen += new TextDecoder().decode((await reader.read()).value);
      const [had] = events(seen);
      expect(had!.job.status).toBe("queued");
      ac.abort();

      const resumed = await lane.request(`/v1/jobs/${queued}/events`, { key: k, headers: { "last-event-id": had!.id } });
      expect(resumed.status).toBe(200);
      expect((await lane.request(`/v1/jobs/${queued}`, { method: "DELETE", key: k })).status).toBe(200);
      const after = events(await resumed.text());
      expect(after.map((e) => e.id)).not.toContain(had!.id);
      expect(after.map((e) => e.job.status)).toEqual(["cancelled"]);

      // The job has ended: the same id still gets the terminal state, so the stream ends with it.
      const ended = events(await (await lane.request(`/v1/jobs/${queued}/events`, { key: k, headers: { "last-event-id": after[0]!.id } })).text());
      expect(ended.map((e) => e.job.status)).toEqual(["cancelled"]);
      await lane.request(`/v1/jobs/${running}`, { method: "DELETE", key: k });
    } finally {
      await lane.close();
    }
  });

  it("the deprecated /v1/generate and /v1/generations use the legacy shapes", async () => {
    const res = await submit("/v1/generate", { model: "local/image", prompt: "legacy" });
    expect(res.status).toBe(202);
    expect(res.headers.get("deprecation")).toBe("true");
    const body = (await res.json()) as { generation_id: string; status: string; kind: string; poll_url: string; cost: { usd_micros: number } };
    expect(body).toMatchObject({ status: "queued", kind: "image" });
    expect(body.poll_url).toMatch(new RegExp(`/v1/generations/${body.generation_id}$`));
    await waitForJob(srv, key, body.generation_id);
    const polled = await srv.request(`/v1/generations/${body.generation_id}`, { key });
    const generation = (await polled.json()) as { status: string; asset_urls: string[]; prompt: string };
    expect(generation.status).toBe("success");
    expect(generation.prompt).toBe("legacy");
    expect(generation.asset_urls).toHaveLength(1);
  });

  it("caps jobs in flight per workspace with 429 concurrency_limit", async () => {
    const capped = await startTestServer({ env: { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "1" } });
    try {
      const k = (await capped.createKey()).key;
      const first = await capped.request("/v1/videos/generate", { method: "POST", key: k, json: { model: "local/video", prompt: "a", duration_s: 30 } });
      expect(first.status).toBe(202);
      const second = await capped.request("/v1/videos/generate", { method: "POST", key: k, json: { model: "local/video", prompt: "b", duration_s: 1 } });
      expect(second.status).toBe(429);
      expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await second.json()) as { error: { code: string } }).error.code).toBe("concurrency_limit");
      await capped.request(`/v1/jobs/${((await first.json()) as JobBody).job_id}`, { method: "DELETE", key: k });
    } finally {
      await capped.close();
    }
  });
});

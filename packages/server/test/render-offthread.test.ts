/**
 * Local rendering runs in the render pool's worker threads, never on the thread that
 * answers HTTP (ARCHITECTURE.md, Jobs, "Rendering"); a render over its limits fails its
 * job with a clear error and a full refund, and the server keeps answering.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

const TERMINAL = ["completed", "failed", "cancelled", "nsfw_blocked"];

async function pricingAnswers(srv: TestServer): Promise<void> {
  const res = await srv.request("/v1/pricing");
  expect(res.status).toBe(200);
  expect(((await res.json()) as { operations: unknown[] }).operations.length).toBeGreaterThan(0);
}

async function jobOf(srv: TestServer, key: string, id: string): Promise<JobBody> {
  const res = await srv.request(`/v1/jobs/${id}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as JobBody;
}

describe("a long local render", () => {
  let srv: TestServer;
  let key: string;
  let workspaceId: string;
  beforeAll(async () => {
    // A 4096x4096 procedural PNG takes seconds of CPU (the default long-side cap is 1024).
    srv = await startTestServer({ providers: { local: { imageMaxLongSide: 4096 } } });
    ({ key, workspace_id: workspaceId } = await srv.createKey());
  });
  afterAll(() => srv?.close());
  afterEach(async () => {
    expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
  });

  it("does not stop /v1/pricing: it answers again and again while the job is running", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "a very large fox", resolution: "4096x4096" } });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as JobBody).job_id;
    // Each pricing answer is followed by a read of the job: one still `running` proves the
    // answer came while the render was in progress.
    let answeredWhileRunning = 0;
    let job: JobBody;
    for (;;) {
      await pricingAnswers(srv);
      job = await jobOf(srv, key, id);
      if (TERMINAL.includes(job.status)) break;
      if (job.status === "running") answeredWhileRunning++;
      await sleep(50);
    }
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    expect(answeredWhileRunning).toBeGreaterThanOrEqual(3);
    const png = Buffer.from(await (await fetch(job.output_urls![0]!)).arrayBuffer());
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([4096, 4096]);
  }, 180_000);

  it("is stopped by cancelling its job, which is refunded; the next render completes", async () => {
    const before = await walletOf(srv, key);
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "cancelled fox", resolution: "4096x4096" } });
    const id = ((await res.json()) as JobBody).job_id;
    while ((await jobOf(srv, key, id)).status !== "running") await sleep(20);
    const cancel = await srv.request(`/v1/jobs/${id}`, { method: "DELETE", key });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as JobBody).status).toBe("cancelled");
    expect((await walletOf(srv, key)).available_micros).toBe(before.available_micros);
    const next = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "next fox", resolution: "64x64" } });
    const done = await waitForJob(srv, key, ((await next.json()) as JobBody).job_id, 60_000);
    expect(done.status).toBe("completed");
    expect((await jobOf(srv, key, id)).status).toBe("cancelled");
  }, 120_000);
});

describe("a render over its limits", () => {
  let srv: TestServer;
  let key: string;
  let workspaceId: string;
  beforeAll(async () => {
    srv = await startTestServer({ env: { RENDER_MAX_PIXELS: "65536", RENDER_MAX_AUDIO_SECONDS: "2" } });
    ({ key, workspace_id: workspaceId } = await srv.createKey());
  });
  afterAll(() => srv?.close());
  afterEach(async () => {
    expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
  });

  it("fails the job with output_too_large and a full refund, and the server keeps answering", async () => {
    const before = await walletOf(srv, key);

    const image = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "too big", resolution: "512x512" } });
    expect(image.status).toBe(202);
    const failedImage = await waitForJob(srv, key, ((await image.json()) as JobBody).job_id);
    expect(failedImage.status).toBe("failed");
    expect(failedImage.error?.error.code).toBe("output_too_large");
    expect(failedImage.error?.error.message).toContain("65536 pixel limit");

    // Audio answers with the finished job: 100 characters are 6 s of speech, over the 2 s cap.
    const audio = await srv.request("/v1/audio/generate", { method: "POST", key, json: { model: "local/tts", text: "a".repeat(100) } });
    expect(audio.status).toBe(202);
    const failedAudio = (await audio.json()) as JobBody;
    expect(failedAudio.status).toBe("failed");
    expect(failedAudio.error?.error.code).toBe("output_too_large");
    expect(failedAudio.error?.error.message).toContain("limit is 2 s");

    const after = await walletOf(srv, key);
    expect(after).toEqual(before);
    await pricingAnswers(srv);
    // Within the limits the same models still render.
    const ok = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "fits", resolution: "256x256" } });
    expect((await waitForJob(srv, key, ((await ok.json()) as JobBody).job_id)).status).toBe("completed");
  }, 60_000);
});

/**
 * Generation through the real provider SDKs (@fal-ai/client, ElevenLabs) against
 * msw handlers that speak their wire protocols: success, provider 4xx (failed at
 * once, refunded), provider 5xx (retried, then failed and refunded), NSFW verdicts,
 * the circuit breaker, and a queue that is down at submit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setupServer } from "msw/node";
import { falHandlers, falValidationError, elevenLabsHandlers, elevenLabsError } from "@aeriox/core/testing/msw";
import { BreakerRegistry } from "@aeriox/core/providers";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

const fal = falHandlers({ statuses: ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"] });
const eleven = elevenLabsHandlers();
const mocks = setupServer(...fal.handlers, ...eleven.handlers);
const breakers = new BreakerRegistry({ failureThreshold: 3, windowMs: 60_000, coolDownMs: 60_000 });

/** Every submit that reached fal (accepted or refused). */
let submitAttempts = 0;
mocks.events.on("request:start", ({ request }) => {
  const url = new URL(request.url);
  if (request.method === "POST" && url.hostname === "queue.fal.run" && !url.pathname.includes("/requests/")) submitAttempts += 1;
});

let srv: TestServer;
let key: string;
let workspaceId: string;

beforeAll(async () => {
  // Loopback is this test talking to its own server; anything else must be mocked.
  mocks.listen({
    onUnhandledRequest(request, print) {
      if (!["127.0.0.1", "localhost"].includes(new URL(request.url).hostname)) print.error();
    },
  });
  srv = await startTestServer({ env: { FAL_KEY: "fal-test-key", ELEVENLABS_API_KEY: "el-test-key" }, providers: { breakers } });
  ({ key, workspace_id: workspaceId } = await srv.createKey());
});
afterEach(async () => {
  fal.reset();
  submitAttempts = 0;
  eleven.set({});
  expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
});
afterAll(async () => {
  await srv?.close();
  mocks.close();
});

const generate = (json: unknown) => srv.request("/v1/images/generate", { method: "POST", key, json });

describe("fal", () => {
  it("runs an image through the queue API once and stores the result", async () => {
    const res = await generate({ model: "fal-ai/flux/schnell", prompt: "a red fox", aspect_ratio: "1:1", seed: 3 });
    expect(res.status).toBe(202);
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    expect(fal.stats.submits).toBe(1);
    expect(job.charged_cost_usd).toBe(job.estimated_cost_usd);
    const file = await fetch(job.output_urls![0]!);
    expect(file.headers.get("content-type")).toBe("image/png");
  });

  it("a provider 4xx fails the job at once with its reason and refunds", async () => {
    const before = await walletOf(srv, key);
    fal.set({ submitError: falValidationError("prompt", "Prompt is too long for this model") });
    const res = await generate({ model: "fal-ai/flux/schnell", prompt: "too long" });
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    expect(job.status).toBe("failed");
    expect(job.error!.error.message).toContain("Prompt is too long");
    expect(submitAttempts).toBe(1);
    expect(job.charged_cost_usd).toBeNull();
    expect(await walletOf(srv, key)).toEqual(before);
  });

  it("a provider 5xx is retried, then fails and refunds", async () => {
    const before = await walletOf(srv, key);
    fal.set({ submitError: { status: 500, body: { detail: "upstream exploded" } } });
    const res = await generate({ model: "fal-ai/flux/schnell", prompt: "retry me" });
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id, 60_000);
    expect(job.status).toBe("failed");
    expect(submitAttempts).toBeGreaterThanOrEqual(3); // three attempts, each refused at submit
    expect(await walletOf(srv, key)).toEqual(before);
    breakers.breakerFor("fal").recordSuccess();
  });

  it("an NSFW verdict blocks the job and refunds", async () => {
    const before = await walletOf(srv, key);
    fal.set({ nsfw: true });
    const res = await generate({ model: "fal-ai/flux/schnell", prompt: "something" });
    expect(res.status, await res.clone().text()).toBe(202);
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    expect(job.status).toBe("nsfw_blocked");
    expect(job.output_urls).toBeNull();
    expect(await walletOf(srv, key)).toEqual(before);
  });
});

describe("ElevenLabs", () => {
  it("speaks synchronously and returns MP3", async () => {
    const res = await srv.request("/v1/audio/generate", { method: "POST", key, json: { text: "Hello there", model: "eleven_v3_multilingual", voice_id: "voice123" } });
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobBody;
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    expect(eleven.calls.length).toBeGreaterThanOrEqual(1);
    const file = await fetch(job.output_urls![0]!);
    expect(file.headers.get("content-type")).toBe("audio/mpeg");
  });

  it("a rejected request fails the job and refunds", async () => {
    const before = await walletOf(srv, key);
    eleven.set({ error: elevenLabsError(422) });
    const res = await srv.request("/v1/audio/generate", { method: "POST", key, json: { text: "Hello", model: "eleven_v3_multilingual" } });
    const job = (await res.json()) as JobBody;
    expect(job.status).toBe("failed");
    expect(await walletOf(srv, key)).toEqual(before);
  });
});

describe("protection", () => {
  it("an open circuit answers 503 circuit_open before reserving anything", async () => {
    const before = await walletOf(srv, key);
    const breaker = breakers.breakerFor("fal");
    for (let i = 0; i < 5 && !breaker.isOpen(); i++) {
      await breaker.exec(() => Promise.reject(Object.assign(new Error("boom"), { retryable: true, kind: "server" }))).catch(() => undefined);
    }
    expect(breaker.isOpen()).toBe(true);
    const res = await generate({ model: "fal-ai/flux/schnell", prompt: "x" });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("circuit_open");
    expect(await walletOf(srv, key)).toEqual(before);
    // local models are not affected
    expect((await generate({ model: "local/image", prompt: "x" })).status).toBe(202);
  });

  it("a queue that is down at submit answers 503 queue_unavailable and undoes the reservation", async () => {
    const { key: k, workspace_id } = await srv.createKey();
    const before = await walletOf(srv, k);
    const queue = srv.runtime.queue;
    const enqueue = queue.enqueue;
    queue.enqueue = async () => {
      throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
    };
    try {
      const res = await srv.request("/v1/images/generate", { method: "POST", key: k, json: { model: "local/image", prompt: "x" } });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("queue_unavailable");
    } finally {
      queue.enqueue = enqueue;
    }
    expect(await walletOf(srv, k)).toEqual(before);
    expect((await auditWallet(srv.runtime.db, workspace_id)).problems).toEqual([]);
  });
});

import { mkdtemp, readFile } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APITimeoutError, JobFailedError, NotFoundError, type Job } from "../src/index.ts";
import { apiError, http, HttpResponse, job, JOB_ID, makeClient, server, sse, url, useMsw } from "./helpers.ts";

useMsw();

const EVENTS = `/v1/jobs/${JOB_ID}/events`;
const JOB = `/v1/jobs/${JOB_ID}`;

/** Records DELETE /v1/jobs/{id} calls. */
function trackCancels() {
  const calls: string[] = [];
  server.use(http.delete(url(JOB), () => {
    calls.push("DELETE");
    return HttpResponse.json(job("cancelled"));
  }));
  return calls;
}

describe("jobs.wait", () => {
  it("follows the SSE stream to completion and reports progress", async () => {
    let auth: string | null = null;
    server.use(http.get(url(EVENTS), ({ request }) => {
      auth = request.headers.get("authorization");
      return sse([
        { event: "status", data: job("running", { progress_pct: 10 }) },
        { event: "progress", data: { progress_pct: 60 } }, // partial update merged onto the last snapshot
        { event: "status", data: job("completed") },
      ]);
    }));
    const seen: Array<[string, number | null | undefined]> = [];
    const done = await makeClient().jobs.wait(JOB_ID, { onProgress: (j) => seen.push([j.status, j.progress_pct]) });
    expect(done.status).toBe("completed");
    expect(seen).toEqual([["running", 10], ["running", 60], ["completed", 100]]);
    expect(auth).toMatch(/^Bearer /);
  });

  it("falls back to polling when the stream endpoint is missing (404)", async () => {
    let polls = 0;
    server.use(
      http.get(url(EVENTS), () => apiError(404, "not_found")),
      http.get(url(JOB), () => HttpResponse.json(++polls < 3 ? job("running", { progress_pct: polls * 30 }) : job("completed"))),
    );
    const done = await makeClient().jobs.wait(JOB_ID, { pollInterval: 5 });
    expect(done.status).toBe("completed");
    expect(polls).toBe(3);
  });

  it("falls back to polling on 501, 503, 429 and on a network error", async () => {
    for (const broken of [() => apiError(501, "not_implemented"), () => apiError(503, "queue_unavailable"), () => apiError(429, "rate_limited"), () => HttpResponse.error()]) {
      server.use(http.get(url(EVENTS), broken), http.get(url(JOB), () => HttpResponse.json(job("completed"))));
      await expect(makeClient().jobs.wait(JOB_ID, { pollInterval: 5 })).resolves.toMatchObject({ status: "completed" });
    }
  });

  it("polls when the stream closes before a terminal state", async () => {
    server.use(
      http.get(url(EVENTS), () => sse([{ data: job("running") }])),
      http.get(url(JOB), () => HttpResponse.json(job("completed"))),
    );
    await expect(makeClient().jobs.wait(JOB_ID, { pollInterval: 5 })).resolves.toMatchObject({ status: "completed" });
  });

  it.each(["failed", "cancelled", "nsfw_blocked"] as const)("rejects with JobFailedError when the job ends %s", async (status) => {
    const final = job(status, { error: { error: { code: `provider_${status}`, message: `ended ${status}` } } });
    server.use(http.get(url(EVENTS), () => sse([{ data: final }])));
    const err = await makeClient().jobs.wait(JOB_ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).job.status).toBe(status);
    expect((err as JobFailedError).code).toBe(`provider_${status}`);
  });

  it("a silent (half-open) stream is abandoned for polling after the idle timeout", async () => {
    let polls = 0;
    server.use(
      http.get(url(EVENTS), () => sse([{ data: job("running") }], { keepOpen: true })),
      http.get(url(JOB), () => HttpResponse.json(++polls < 2 ? job("running") : job("completed"))),
    );
    const done = await makeClient().jobs.wait(JOB_ID, { streamIdleTimeout: 60, pollInterval: 5 });
    expect(done.status).toBe("completed");
    expect(polls).toBe(2);
  });

  it("a 401 on the stream is an answer, not a reason to poll", async () => {
    server.use(http.get(url(EVENTS), () => apiError(401, "unauthorized")));
    await expect(makeClient().jobs.wait(JOB_ID)).rejects.toMatchObject({ name: "AuthenticationError", status: 401 });
  });

  it("JobFailedError also comes from polling", async () => {
    server.use(http.get(url(EVENTS), () => apiError(404, "not_found")), http.get(url(JOB), () => HttpResponse.json(job("nsfw_blocked"))));
    await expect(makeClient().jobs.wait(JOB_ID, { pollInterval: 5 })).rejects.toMatchObject({ name: "JobFailedError", code: "nsfw_blocked" });
  });

  it("a deadline cancels the job on the server and rejects with APITimeoutError", async () => {
    const cancels = trackCancels();
    server.use(http.get(url(EVENTS), () => sse([{ data: job("running") }], { keepOpen: true })));
    const err = await makeClient().jobs.wait(JOB_ID, { deadline: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APITimeoutError);
    expect(cancels).toEqual(["DELETE"]);
  });

  it("the deadline covers polling too, and accepts a Date", async () => {
    const cancels = trackCancels();
    server.use(http.get(url(EVENTS), () => apiError(404, "not_found")), http.get(url(JOB), () => HttpResponse.json(job("queued"))));
    const err = await makeClient().jobs.wait(JOB_ID, { deadline: new Date(Date.now() + 80), pollInterval: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APITimeoutError);
    expect(cancels).toHaveLength(1);
  });

  it("cancelOnAbort: false leaves the job running", async () => {
    const cancels = trackCancels();
    server.use(http.get(url(EVENTS), () => sse([{ data: job("running") }], { keepOpen: true })));
    await expect(makeClient().jobs.wait(JOB_ID, { deadline: 50, cancelOnAbort: false })).rejects.toBeInstanceOf(APITimeoutError);
    expect(cancels).toEqual([]);
  });

  it("a caller's abort cancels the job and rejects with an AbortError", async () => {
    const cancels = trackCancels();
    server.use(http.get(url(EVENTS), () => sse([{ data: job("running") }], { keepOpen: true })));
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 40);
    const err = await makeClient().jobs.wait(JOB_ID, { signal: ctl.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
    expect(cancels).toEqual(["DELETE"]);
  });

  it("jobs.events yields raw server-sent events", async () => {
    server.use(http.get(url(EVENTS), () => sse([{ event: "status", data: job("running") }, { event: "status", data: job("completed") }])));
    const names: string[] = [];
    for await (const ev of makeClient().jobs.events(JOB_ID)) names.push(`${ev.event}:${(JSON.parse(ev.data) as Job).status}`);
    expect(names).toEqual(["status:running", "status:completed"]);
  });
});

/** An event stream that sends `events` (with ids), then breaks the connection, ends, or stays open. */
function brokenStream(events: Array<{ id: string; data: unknown }>, end: "reset" | "close" | "hang") {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(ctl) {
      for (const e of events) {
        await new Promise((r) => setTimeout(r, 5));
        ctl.enqueue(enc.encode(`event: job\nid: ${e.id}\ndata: ${JSON.stringify(e.data)}\n\n`));
      }
      await new Promise((r) => setTimeout(r, 5));
      if (end === "reset") ctl.error(new Error("connection reset"));
      if (end === "close") ctl.close();
    },
  });
  return new HttpResponse(body, { headers: { "content-type": "text/event-stream" } });
}

describe("the event stream (generated SSE client)", () => {
  it("jobs.events reconnects after a dropped connection, resuming with Last-Event-ID", async () => {
    const lastIds: Array<string | null> = [];
    server.use(http.get(url(EVENTS), ({ request }) => {
      lastIds.push(request.headers.get("last-event-id"));
      return lastIds.length === 1
        ? brokenStream([{ id: "1", data: job("running") }], "reset")
        : brokenStream([{ id: "2", data: job("completed") }], "close");
    }));
    const seen: string[] = [];
    for await (const ev of makeClient().jobs.events(JOB_ID)) seen.push(`${ev.id}:${ev.event}:${(JSON.parse(ev.data) as Job).status}`);
    expect(seen).toEqual(["1:job:running", "2:job:completed"]);
    expect(lastIds).toEqual([null, "1"]);
  });

  it("jobs.events rejects with the typed error of a final answer, without reconnecting", async () => {
    let calls = 0;
    server.use(http.get(url(EVENTS), () => (calls++, apiError(404, "not_found"))));
    const events = makeClient().jobs.events(JOB_ID);
    await expect(events.next()).rejects.toBeInstanceOf(NotFoundError);
    expect(calls).toBe(1);
  });

  it("jobs.events gives up after maxRetries reconnects with the last error", async () => {
    let calls = 0;
    server.use(http.get(url(EVENTS), () => (calls++, apiError(503, "queue_unavailable"))));
    const err = await (async () => {
      for await (const _ of makeClient().jobs.events(JOB_ID, { maxRetries: 1 })) { /* none */ }
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: "queue_unavailable" });
    expect(calls).toBe(2);
  });

  it("breaking out of jobs.events closes the connection (a real HTTP server sees it go)", async () => {
    const closed = new Promise<void>((resolve) => {
      const http1 = createServer((req, res: ServerResponse) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`event: job\nid: 1\ndata: ${JSON.stringify(job("running"))}\n\n`);
        res.on("close", () => {
          resolve();
          http1.close();
        });
      });
      http1.listen(0, "127.0.0.1", () => void run(`http://127.0.0.1:${(http1.address() as AddressInfo).port}`));
    });
    const seen: string[] = [];
    const run = async (baseUrl: string) => {
      server.close(); // msw steps aside for the real connection
      try {
        for await (const ev of makeClient({ baseUrl }).jobs.events(JOB_ID)) {
          seen.push(ev.event);
          break;
        }
      } finally {
        server.listen({ onUnhandledRequest: "error" });
      }
    };
    await closed;
    expect(seen).toEqual(["job"]);
  });

  it("an abort ends jobs.events with the abort reason", async () => {
    server.use(http.get(url(EVENTS), () => brokenStream([{ id: "1", data: job("running") }], "hang")));
    const ctl = new AbortController();
    const seen: string[] = [];
    const err = await (async () => {
      for await (const ev of makeClient().jobs.events(JOB_ID, { signal: ctl.signal })) {
        seen.push(ev.id!);
        ctl.abort();
      }
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["1"]);
    expect((err as Error).name).toBe("AbortError");
  });

  it("jobs.wait reconnects a dropped stream once (Last-Event-ID) before it polls", async () => {
    const lastIds: Array<string | null> = [];
    let polls = 0;
    server.use(
      http.get(url(EVENTS), ({ request }) => {
        lastIds.push(request.headers.get("last-event-id"));
        return lastIds.length === 1 ? brokenStream([{ id: "7", data: job("running") }], "reset") : brokenStream([{ id: "8", data: job("completed") }], "close");
      }),
      http.get(url(JOB), () => (polls++, HttpResponse.json(job("running")))),
    );
    await expect(makeClient().jobs.wait(JOB_ID, { pollInterval: 5 })).resolves.toMatchObject({ status: "completed" });
    expect(lastIds).toEqual([null, "7"]);
    expect(polls).toBe(0);
  });
});

describe("generateAndWait", () => {
  it("submits, waits and exposes the outputs (signed URLs: no credential sent)", async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const signed = url(`/v1/assets/${JOB_ID}/content?expires=9999999999&signature=abc`);
    server.use(
      http.post(url("/v1/images/generate"), () => HttpResponse.json(job("queued"), { status: 202 })),
      http.get(url(EVENTS), () => sse([{ event: "job", data: job("completed", { output_urls: [signed, "https://cdn.example/x.png"] }) }])),
      http.get(url(`/v1/assets/${JOB_ID}/content`), ({ request }) => {
        expect(request.headers.get("authorization")).toBeNull();
        expect(new URL(request.url).searchParams.get("signature")).toBe("abc");
        return new HttpResponse(png, { headers: { "content-type": "image/png" } });
      }),
      http.get("https://cdn.example/x.png", ({ request }) => {
        expect(request.headers.get("authorization")).toBeNull();
        return new HttpResponse(png, { headers: { "content-type": "image/png" } });
      }),
    );
    const result = await makeClient().images.generateAndWait({ model: "local/image", prompt: "fox" });
    expect(result.status).toBe("completed");
    expect(result.urls).toHaveLength(2);
    expect(result.url).toBe(signed);
    expect(new Uint8Array(await result.arrayBuffer())).toEqual(png);
    expect((await result.blob(1)).size).toBe(png.length);
    const file = join(await mkdtemp(join(tmpdir(), "aeriox-sdk-")), "out.png");
    await expect(result.save(file)).resolves.toBe(file);
    expect(new Uint8Array(await readFile(file))).toEqual(png);
    await expect(result.blob(2)).rejects.toThrow(RangeError);
  });

  it("an expired output URL is re-signed through GET /v1/assets/{id}", async () => {
    const fresh = url(`/v1/assets/${JOB_ID}/content?expires=2&signature=new`);
    server.use(
      http.get(url(`/v1/assets/${JOB_ID}/content`), ({ request }) =>
        new URL(request.url).searchParams.get("signature") === "new"
          ? new HttpResponse(new Uint8Array([1, 2]), { headers: { "content-type": "image/png" } })
          : apiError(403, "url_expired")),
      http.get(url(`/v1/assets/${JOB_ID}`), () => HttpResponse.json({ id: JOB_ID, job_id: JOB_ID, content_type: "image/png", size_bytes: 2, url: fresh, url_expires_at: "2026-11-29T01:00:00Z", created_at: "2026-11-29T00:00:00Z" })),
      http.get(url(EVENTS), () => sse([{ data: job("completed", { output_urls: [url(`/v1/assets/${JOB_ID}/content?expires=1&signature=old`)] }) }])),
    );
    const client = makeClient();
    const { withOutputs } = await import("../src/output.ts");
    const done = withOutputs(client, await client.jobs.wait(JOB_ID));
    expect(new Uint8Array(await done.arrayBuffer())).toEqual(new Uint8Array([1, 2]));
    const res = await client.assets.download(JOB_ID);
    expect(res.headers.get("content-type")).toBe("image/png");
  });

  it("audio that completes inline needs no wait", async () => {
    server.use(http.post(url("/v1/audio/generate"), () => HttpResponse.json(job("completed", { type: "audio" }), { status: 202 })));
    await expect(makeClient().audio.generateAndWait({ text: "hello" })).resolves.toMatchObject({ status: "completed" });
  });

  it("compose.createAndWait follows the ack's id", async () => {
    server.use(
      http.post(url("/v1/compose"), () => HttpResponse.json({ id: JOB_ID, type: "compose", status: "queued", operation_id: "compose.stitch_per_minute", estimated_cost_usd_micros: 100, estimated_cost_usd: 0.0001, created_at: "2026-11-29T00:00:00Z" }, { status: 202 })),
      http.get(url(EVENTS), () => sse([{ data: job("completed", { type: "compose" }) }])),
    );
    const r = await makeClient().compose.createAndWait({ segments: [{ asset_id: JOB_ID, start_time: 0, duration: 1 }] });
    expect(r.type).toBe("compose");
  });
});

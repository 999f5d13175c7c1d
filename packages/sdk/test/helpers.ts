// Shared test setup. Every test talks to BASE_URL through msw handlers that answer the way the spec
// says; point AERIOX_TEST_BASE_URL at a real server (and drop the handlers) to run against it later.
import { setupServer } from "msw/node";
import { http, HttpResponse, type JsonBodyType } from "msw";
import { afterAll, afterEach, beforeAll } from "vitest";
import { Aeriox, type ClientOptions } from "../src/index.ts";
import type { Job } from "../src/index.ts";

export const BASE_URL = process.env.AERIOX_TEST_BASE_URL ?? "http://aeriox.test";
export const API_KEY = "sk_live_test_0123456789";
export const url = (path: string) => `${BASE_URL}${path}`;

export const server = setupServer();

/** Starts msw for the calling test file; unhandled requests fail loudly instead of reaching a network. */
export function useMsw() {
  beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
}

export function makeClient(opts: ClientOptions = {}) {
  return new Aeriox({ apiKey: API_KEY, baseUrl: BASE_URL, ...opts });
}

/** The spec's Error body. */
export function apiError(status: number, code: string, message = code, init: { headers?: Record<string, string>; details?: object } = {}) {
  return HttpResponse.json({ error: { code, message, ...(init.details && { details: init.details }) } } as JsonBodyType, {
    status,
    headers: { "x-request-id": `req_${status}`, ...init.headers },
  });
}

export const JOB_ID = "6f1c2a5e-4b7d-4e2a-9c1f-0d8e7b6a5c4d";

export function job(status: Job["status"], extra: Partial<Job> = {}): Job {
  return {
    job_id: JOB_ID,
    type: "image",
    status,
    created_at: "2026-11-29T00:00:00Z",
    progress_pct: status === "completed" ? 100 : 0,
    output_urls: status === "completed" ? [url(`/v1/assets/${JOB_ID}/content`)] : null,
    error: null,
    ...extra,
  };
}

/** A text/event-stream response from a list of events (each `data` JSON-encoded). */
export function sse(events: Array<{ event?: string; data: unknown }>, opts: { keepOpen?: boolean } = {}) {
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(ctl) {
      ctl.enqueue(enc.encode(": connected\n\n"));
      for (const e of events) {
        await new Promise((r) => setTimeout(r, 5));
        ctl.enqueue(enc.encode(`${e.event ? `event: ${e.event}\n` : ""}data: ${JSON.stringify(e.data)}\n\n`));
      }
      if (!opts.keepOpen) ctl.close();
    },
  });
  return new HttpResponse(stream, { headers: { "content-type": "text/event-stream" } });
}

export { http, HttpResponse };

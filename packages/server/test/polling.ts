/** Test helpers for async jobs: poll through the public API until a job ends. */
import { expect } from "vitest";
import type { TestServer } from "./harness.ts";

export interface JobBody {
  job_id: string;
  type: string;
  status: string;
  progress_pct: number | null;
  estimated_cost_usd: number | null;
  charged_cost_usd: number | null;
  output_urls: string[] | null;
  asset_ids: string[] | null;
  error: { error: { code: string; message: string } } | null;
}

const TERMINAL = ["completed", "failed", "cancelled", "nsfw_blocked"];

export async function waitForJob(srv: TestServer, key: string, jobId: string, timeoutMs = 30_000): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await srv.request(`/v1/jobs/${jobId}`, { key });
    expect(res.status).toBe(200);
    const job = (await res.json()) as JobBody;
    if (TERMINAL.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function walletOf(srv: TestServer, key: string): Promise<{ available_micros: number; reserved_micros: number; total_micros: number }> {
  const res = await srv.request("/v1/wallet", { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { balance: { available_micros: number; reserved_micros: number; total_micros: number } }).balance;
}

/**
 * `Prefer: wait=N` (RFC 7240 §4.3) on the generation endpoints: how long the caller would
 * like the server to hold the answer for the job to end. Preferences are hints: anything
 * that is not a well-formed `wait` with a non-negative integer is ignored, never refused,
 * and N above PREFER_WAIT_MAX_S is taken as the maximum (RFC 7240 lets a server honour a
 * preference partly; `Preference-Applied` says what it did).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Principal } from "@aeriox/core/auth";
import { waitForJobEnd } from "@aeriox/core/generation";
import { findWorkspaceJobBody, toJobBody, type JobBodyFields, isTerminal } from "@aeriox/core/jobs";
import type { AppServices } from "../services.ts";
import { principalOf } from "./handler.ts";

export const PREFER_WAIT_MAX_S = 60;

/** Seconds to wait, or null when the request has no usable `wait` preference. */
export function preferredWait(headers: IncomingHttpHeaders): number | null {
  const raw = headers.prefer;
  if (raw === undefined) return null;
  // Several Prefer headers are one comma-separated list; a preference's own parameters follow ";".
  const prefs = (Array.isArray(raw) ? raw.join(",") : raw).split(",");
  for (const pref of prefs) {
    const [token = "", ...rest] = pref.split(";")[0]!.split("=");
    if (token.trim().toLowerCase() !== "wait") continue;
    // The first `wait` counts (RFC 7240 §2: a repeated preference is ignored after the first).
    let value = rest.join("=").trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!/^\d{1,12}$/.test(value)) return null;
    return Math.min(Number(value), PREFER_WAIT_MAX_S);
  }
  return null;
}

/** What a generation handler needs to answer after an optional wait. */
interface WaitContext {
  headers: IncomingHttpHeaders;
  services: AppServices;
  signal: AbortSignal;
  auth: Principal | null;
}

type JobBody = ReturnType<typeof toJobBody>;

/**
 * The answer of a job-creating POST: without a `wait` preference the usual 202 (`accepted`,
 * given the job as it was accepted; `waitWithoutPreferenceMs` lets the audio endpoint keep
 * its synchronous wait). With `Prefer: wait=N` it waits for the job to end through the job
 * end signal (generation/wait.ts): 200 with the finished Job if it ended within N seconds,
 * else the 202 with the job as it stands; both with `Preference-Applied`. A client that
 * goes away ends the wait (ctx.signal), leaving nothing subscribed.
 */
export async function answerAfterWait<Accepted>(
  ctx: WaitContext,
  jobId: string,
  accepted: (now: JobBodyFields | null) => Accepted,
  options: { waitWithoutPreferenceMs?: number } = {},
): Promise<{ status: 202; body: Accepted; headers?: Record<string, string> } | { status: 200; body: JobBody; headers: Record<string, string> }> {
  const wait = preferredWait(ctx.headers);
  const waitMs = wait === null ? (options.waitWithoutPreferenceMs ?? 0) : wait * 1000;
  if (waitMs === 0 && wait === null) return { status: 202, body: accepted(null) };
  const ended = await waitForJobEnd(ctx.services, jobId, waitMs, ctx.signal);
  const now = await findWorkspaceJobBody(ctx.services, principalOf(ctx).workspaceId, jobId);
  if (wait === null) return { status: 202, body: accepted(now) };
  const headers = { "preference-applied": `wait=${wait}` };
  if (ended && isTerminal(now.status)) return { status: 200, body: toJobBody(now, ctx.services.signer), headers };
  return { status: 202, body: accepted(now), headers };
}

/**
 * One attempt at one delivery, the same code on every deployment (the in-process runner or a BullMQ
 * worker calls it with the delivery id). The row is claimed with a lease first (two processes that
 * both got the id cannot both send), the body is the stored one (fixed before the first attempt), it
 * is signed anew with the current timestamp and every secret valid now, and POSTed through the guarded
 * fetcher (no private, loopback, link-local or metadata targets unless the deployment allows private
 * networks; no redirects; WEBHOOK_TIMEOUT_MS). A 2xx is `delivered`; anything else is retried after
 * WEBHOOK_RETRY_BASE_MS × 2^(attempt−1) (at most WEBHOOK_RETRY_MAX_MS) until WEBHOOK_RETRY_WINDOW_SECONDS
 * after the event, then `failed`. A target the fetcher refuses (`url_not_allowed`) fails at once.
 */
import type { Database } from "../db/index.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { UrlSigner } from "../assets/signed-urls.ts";
import { findWorkspaceJobBody, toJobBody } from "../jobs/serialize.ts";
import { guardedFetch, isOutboundFetchError, outboundPolicyFrom } from "../net/index.ts";
import { isApiError } from "../errors.ts";
import { eventBody } from "./events.ts";
import { liveSecrets, signWebhook, type SecretRow } from "./secrets.ts";
import { signingSecretOf } from "./endpoints.ts";
import type { WebhookEventType } from "./request.ts";

/** What attempting a delivery needs: the runtime's `db`, `config`, `logger` and `signer` (named here, not
 *  picked from runtime.ts, which names the dispatcher that imports this file). */
export interface WebhookServices {
  db: Database;
  config: Config;
  logger: Logger;
  signer: UrlSigner;
}

interface ClaimedRow {
  id: string;
  workspace_id: string;
  endpoint_id: string | null;
  job_id: string;
  webhook_id: string;
  event_type: WebhookEventType;
  url: string;
  payload: string | null;
  attempts: number;
  created_at: Date;
}

export interface AttemptOutcome {
  /** Still pending: the next attempt is due then, as attempt number `attempts + 1`. */
  next: { at: Date; attempts: number } | null;
}

const CLAIM_SQL = `
  UPDATE webhook_deliveries SET locked_until = now() + ($2::int * interval '1 millisecond')
   WHERE id = $1::uuid AND status = 'pending'
     AND (locked_until IS NULL OR locked_until < now())
     AND (next_attempt_at IS NULL OR next_attempt_at <= now() + interval '1 second')
  RETURNING id::text, workspace_id::text, endpoint_id::text, job_id::text, webhook_id, event_type, url, payload, attempts, created_at`;

export function retryDelayMs(config: WebhookServices["config"], attempts: number): number {
  return Math.min(config.WEBHOOK_RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1), config.WEBHOOK_RETRY_MAX_MS);
}

export async function attemptDelivery(services: WebhookServices, deliveryId: string): Promise<AttemptOutcome> {
  const { db, config } = services;
  const leaseMs = config.WEBHOOK_TIMEOUT_MS + 30_000;
  const [row] = await db.prisma.$queryRawUnsafe<ClaimedRow[]>(CLAIM_SQL, deliveryId, leaseMs);
  if (!row) return { next: null }; // delivered, failed, not due, or another process holds it
  const log = services.logger.child({ deliveryId, webhookId: row.webhook_id, jobId: row.job_id });

  const body = row.payload ?? (await fixPayload(services, row));
  const secrets = body === null ? null : await secretsOf(services, row);
  if (body === null || secrets === null) {
    await finish(services, row, { status: "failed", responseStatus: null, error: body === null ? "the job no longer exists" : "the endpoint no longer exists", next: null });
    return { next: null };
  }

  const now = new Date();
  const attempts = row.attempts + 1;
  try {
    await guardedFetch(row.url, {
      policy: outboundPolicyFrom(config),
      method: "POST",
      body,
      headers: { "content-type": "application/json", "user-agent": "aeriox-webhooks/1", ...signWebhook(secrets, row.webhook_id, now, body) },
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      maxRedirects: 0,
      discardBody: true,
    });
    await finish(services, row, { status: "delivered", responseStatus: 200, error: null, next: null, deliveredAt: new Date() });
    return { next: null };
  } catch (err) {
    const fetchError = isOutboundFetchError(err) ? err : null;
    const responseStatus = fetchError?.status ?? null;
    const message = fetchError ? fetchError.message : "delivery failed";
    if (!fetchError) log.warn({ err }, "webhook delivery failed unexpectedly");
    const giveUpAt = row.created_at.getTime() + config.WEBHOOK_RETRY_WINDOW_SECONDS * 1000;
    const nextAt = new Date(Date.now() + retryDelayMs(config, attempts));
    if (fetchError?.code === "url_not_allowed" || nextAt.getTime() > giveUpAt) {
      await finish(services, row, { status: "failed", responseStatus, error: message, next: null });
      log.info({ attempts, reason: message }, "webhook delivery failed for good");
      return { next: null };
    }
    await finish(services, row, { status: "pending", responseStatus, error: message, next: nextAt });
    return { next: { at: nextAt, attempts } };
  }
}

async function finish(
  services: WebhookServices,
  row: ClaimedRow,
  o: { status: "pending" | "delivered" | "failed"; responseStatus: number | null; error: string | null; next: Date | null; deliveredAt?: Date },
): Promise<void> {
  await services.db.prisma.webhookDelivery.updateMany({
    where: { id: row.id, status: "pending" },
    data: {
      status: o.status,
      attempts: { increment: 1 },
      lastResponseStatus: o.responseStatus,
      lastError: o.error,
      nextAttemptAt: o.next,
      deliveredAt: o.deliveredAt ?? null,
      lockedUntil: null,
      updatedAt: new Date(),
    },
  });
}

/** A `job.completed` body is made before its first attempt (the outputs' signed URLs exist then) and kept. */
async function fixPayload(services: WebhookServices, row: ClaimedRow): Promise<string | null> {
  let job;
  try {
    job = await findWorkspaceJobBody(services, row.workspace_id, row.job_id);
  } catch (err) {
    if (isApiError(err) && err.status === 404) return null;
    throw err;
  }
  const body = eventBody(row.event_type, row.created_at, toJobBody(job, services.signer));
  await services.db.prisma.webhookDelivery.updateMany({ where: { id: row.id, payload: null }, data: { payload: body } });
  const stored = await services.db.prisma.webhookDelivery.findUnique({ where: { id: row.id }, select: { payload: true } });
  return stored?.payload ?? body;
}

async function secretsOf(services: WebhookServices, row: ClaimedRow): Promise<string[] | null> {
  let secretRow: SecretRow | null;
  if (row.endpoint_id) {
    secretRow = await services.db.prisma.webhookEndpoint.findUnique({ where: { id: row.endpoint_id }, select: { secret: true, previousSecret: true, previousSecretExpiresAt: true } });
  } else {
    secretRow = await signingSecretOf(services.db, row.workspace_id);
  }
  return secretRow ? liveSecrets(secretRow) : null;
}

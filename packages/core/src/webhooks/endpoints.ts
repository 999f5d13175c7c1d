/**
 * Webhook management (spec tag Webhooks, admin scope): a workspace's endpoints (each with its own
 * secret, shown once at creation and rotation), the workspace signing secret of per-request
 * `webhook_url`s (created on first use), and the deliveries. Everything is scoped to the workspace:
 * another workspace's endpoint is a 404.
 */
import type { Config } from "../config.ts";
import type { Database, WebhookDelivery, WebhookEndpoint } from "../db/index.ts";
import { ApiError } from "../errors.ts";
import type { toJobBody } from "../jobs/serialize.ts";
import { assertWebhookUrl, type WebhookEventType } from "./request.ts";
import { newWebhookSecret, ROTATION_OVERLAP_MS, type SecretRow } from "./secrets.ts";

type Services = { db: Database; config: Config };

export interface CreateEndpointInput {
  url: string;
  events?: WebhookEventType[] | undefined;
  description?: string | undefined;
}

export async function createWebhookEndpoint(services: Services, workspaceId: string, input: CreateEndpointInput): Promise<WebhookEndpoint> {
  const url = assertWebhookUrl(services.config, input.url, "body.url");
  const events = [...new Set(input.events ?? ["job.completed"])];
  return services.db.prisma.$transaction(async (tx) => {
    // The workspace row lock serialises creations, so the bound holds under concurrency.
    await tx.$queryRawUnsafe(`SELECT id FROM workspaces WHERE id = $1::uuid FOR UPDATE`, workspaceId);
    const count = await tx.webhookEndpoint.count({ where: { workspaceId } });
    if (count >= services.config.MAX_WEBHOOK_ENDPOINTS_PER_WORKSPACE) {
      throw ApiError.conflict("webhook_endpoint_limit_reached", `A workspace may have at most ${services.config.MAX_WEBHOOK_ENDPOINTS_PER_WORKSPACE} webhook endpoints`, { limit: services.config.MAX_WEBHOOK_ENDPOINTS_PER_WORKSPACE });
    }
    return tx.webhookEndpoint.create({ data: { workspaceId, url, events, description: input.description ?? null, secret: newWebhookSecret() } });
  });
}

export function listWebhookEndpoints(services: Services, workspaceId: string): Promise<WebhookEndpoint[]> {
  return services.db.prisma.webhookEndpoint.findMany({ where: { workspaceId }, orderBy: [{ createdAt: "desc" }, { id: "asc" }] });
}

async function findEndpoint(services: Services, workspaceId: string, id: string): Promise<WebhookEndpoint> {
  const endpoint = await services.db.prisma.webhookEndpoint.findFirst({ where: { id, workspaceId } });
  if (!endpoint) throw ApiError.notFound("Webhook endpoint");
  return endpoint;
}

export async function deleteWebhookEndpoint(services: Services, workspaceId: string, id: string): Promise<WebhookEndpoint> {
  const endpoint = await findEndpoint(services, workspaceId, id);
  const { count } = await services.db.prisma.webhookEndpoint.deleteMany({ where: { id, workspaceId } });
  if (count === 0) throw ApiError.notFound("Webhook endpoint");
  return endpoint;
}

/** The new secret now, the previous one beside it for 24 h (a rotation during an overlap drops the oldest). */
export async function rotateWebhookEndpointSecret(services: Services, workspaceId: string, id: string): Promise<WebhookEndpoint> {
  const endpoint = await findEndpoint(services, workspaceId, id);
  const rotated = await services.db.prisma.webhookEndpoint.updateMany({
    where: { id, workspaceId, secret: endpoint.secret },
    data: { secret: newWebhookSecret(), previousSecret: endpoint.secret, previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_MS) },
  });
  if (rotated.count === 0) throw ApiError.conflict("rotation_conflict", "The endpoint's secret was rotated concurrently; try again");
  return findEndpoint(services, workspaceId, id);
}

export async function signingSecretOf(db: Database, workspaceId: string): Promise<SecretRow & { createdAt: Date }> {
  const found = await db.prisma.webhookSigningSecret.findUnique({ where: { workspaceId } });
  if (found) return found;
  await ensureSigningSecret(db, workspaceId);
  return db.prisma.webhookSigningSecret.findUniqueOrThrow({ where: { workspaceId } });
}

/** Creates the workspace's signing secret unless it has one (first job with a `webhook_url`, or the first read). */
export async function ensureSigningSecret(db: Database, workspaceId: string): Promise<void> {
  await db.prisma.$executeRawUnsafe(`INSERT INTO webhook_signing_secrets (workspace_id, secret) VALUES ($1::uuid, $2) ON CONFLICT (workspace_id) DO NOTHING`, workspaceId, newWebhookSecret());
}

export async function rotateSigningSecret(db: Database, workspaceId: string): Promise<SecretRow & { createdAt: Date }> {
  const current = await signingSecretOf(db, workspaceId);
  const rotated = await db.prisma.webhookSigningSecret.updateMany({
    where: { workspaceId, secret: current.secret },
    data: { secret: newWebhookSecret(), previousSecret: current.secret, previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_MS), createdAt: new Date() },
  });
  if (rotated.count === 0) throw ApiError.conflict("rotation_conflict", "The signing secret was rotated concurrently; try again");
  return signingSecretOf(db, workspaceId);
}

export async function listWebhookDeliveries(services: Services, workspaceId: string, filter: { endpointId?: string | undefined; jobId?: string | undefined; limit?: number | undefined }): Promise<WebhookDelivery[]> {
  if (filter.endpointId) await findEndpoint(services, workspaceId, filter.endpointId);
  return services.db.prisma.webhookDelivery.findMany({
    where: { workspaceId, ...(filter.endpointId ? { endpointId: filter.endpointId } : {}), ...(filter.jobId ? { jobId: filter.jobId } : {}) },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    take: filter.limit ?? 20,
  });
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function webhookEndpointBody(e: WebhookEndpoint) {
  const overlap = e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date() ? e.previousSecretExpiresAt : null;
  return { id: e.id, url: e.url, description: e.description, events: e.events as WebhookEventType[], created_at: e.createdAt.toISOString(), previous_secret_expires_at: iso(overlap) };
}

export function signingSecretBody(s: SecretRow & { createdAt: Date }) {
  const overlap = s.previousSecretExpiresAt && s.previousSecretExpiresAt > new Date() ? s.previousSecretExpiresAt : null;
  return { secret: s.secret, created_at: s.createdAt.toISOString(), previous_secret_expires_at: iso(overlap) };
}

export function webhookDeliveryBody(d: WebhookDelivery) {
  return {
    id: d.id,
    webhook_id: d.webhookId,
    endpoint_id: d.endpointId,
    job_id: d.jobId,
    type: d.eventType as WebhookEventType,
    url: d.url,
    status: d.status as "pending" | "delivered" | "failed",
    attempts: d.attempts,
    last_response_status: d.lastResponseStatus,
    last_error: d.lastError,
    next_attempt_at: d.status === "pending" ? iso(d.nextAttemptAt) : null,
    delivered_at: iso(d.deliveredAt),
    created_at: d.createdAt.toISOString(),
    payload: d.payload === null ? null : (JSON.parse(d.payload) as { type: WebhookEventType; timestamp: string; data: ReturnType<typeof toJobBody> }),
  };
}

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): secrets are `whsec_<base64 of 24 random
 * bytes>`, `webhook-signature` is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret that is
 * valid now, space-separated (so both during a rotation). Signing goes through the `standardwebhooks`
 * package, the same code receivers (and our SDK's `webhooks.verify`) check with.
 */
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** How long a rotated-away secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

export interface SecretRow {
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

/** The secrets that sign now: the current one, and the previous one until it expires. */
export function liveSecrets(row: SecretRow, now = new Date()): string[] {
  const live = [row.secret];
  if (row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now) live.push(row.previousSecret);
  return live;
}

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

export function signWebhook(secrets: readonly string[], webhookId: string, at: Date, body: string): SignedHeaders {
  const signatures = secrets.map((secret) => new Webhook(secret).sign(webhookId, at, body));
  return { "webhook-id": webhookId, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": signatures.join(" ") };
}

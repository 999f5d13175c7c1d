/**
 * `POST /v1/webhooks/stripe`: the only way money from Stripe enters the ledger.
 * The raw bytes are verified against `Stripe-Signature` with the webhook secret;
 * `payment_intent.succeeded` credits `amount_received` once per event id (the event
 * is recorded in stripe_events and the ledger entry is unique per event id, in one
 * transaction, so replays and concurrent deliveries credit nothing more). Auto-recharge
 * intents also clear the workspace's in-flight marker, on success and on failure; a failed
 * one starts (or extends) the recharge back-off, and any credited top-up ends it.
 *
 * Money that leaves through Stripe leaves the wallet too (money-out.ts): `charge.refunded`
 * and `charge.dispute.created` / `charge.dispute.closed` debit (or reinstate) through the
 * ledger, against the top-up they reverse.
 */
import type Stripe from "stripe";
import { ApiError } from "../../errors.ts";
import { isUuid } from "../../ids.ts";
import type { Database } from "../../db/index.ts";
import type { Logger } from "../../logger.ts";
import type { Config } from "../../config.ts";
import { credit } from "../credit.ts";
import { recordRechargeFailure, resetRechargeBackoff, type BackoffConfig } from "../auto-recharge.ts";
import { MICROS_PER_CENT, loadStripe } from "./client.ts";
import { handleChargeRefunded, handleDispute, STRIPE_MAX_AMOUNT_CENTS } from "./money-out.ts";

export interface WebhookServices {
  db: Database;
  config: Pick<Config, "STRIPE_WEBHOOK_SECRET"> & BackoffConfig;
  logger: Logger;
}

export interface WebhookOutcome {
  eventId: string;
  type: string;
  /** What we did: credited, duplicate (already processed), ignored, recharge_failed; debited/reinstated (refunds, disputes), unchanged (nothing new to move). */
  action: "credited" | "duplicate" | "ignored" | "recharge_failed" | "debited" | "reinstated" | "unchanged";
}

export async function verifyStripeEvent(config: Pick<Config, "STRIPE_WEBHOOK_SECRET">, rawBody: Buffer | undefined, signature: string | string[] | undefined): Promise<Stripe.Event> {
  const secret = config.STRIPE_WEBHOOK_SECRET;
  if (!secret) throw ApiError.badRequest("stripe_not_configured", "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET is not set)");
  const header = Array.isArray(signature) ? signature[0] : signature;
  if (!header) throw ApiError.badRequest("invalid_signature", "Stripe signature verification failed: no Stripe-Signature header");
  if (!rawBody || rawBody.length === 0) throw ApiError.badRequest("invalid_payload", "Webhook payload is not a Stripe event");
  const { webhooks } = await loadStripe();
  let event: Stripe.Event;
  try {
    event = webhooks.constructEvent(rawBody, header, secret);
  } catch {
    // The SDK's message may describe the expected signature; say only that it failed.
    throw ApiError.badRequest("invalid_signature", "Stripe signature verification failed");
  }
  // Every event Stripe sends has an id (`evt_…`): the id is what makes a delivery credit at most once.
  if (!event || typeof event.id !== "string" || event.id === "" || typeof event.type !== "string" || !event.data?.object) {
    throw ApiError.badRequest("invalid_payload", "Webhook payload is not a Stripe event");
  }
  return event;
}

async function clearRechargeMarker(db: Database, workspaceId: string): Promise<void> {
  await db.prisma.$executeRaw`UPDATE wallets SET auto_recharge_in_flight_until = NULL, updated_at = now() WHERE workspace_id = ${workspaceId}::uuid`;
}

function workspaceOf(intent: Stripe.PaymentIntent): string | null {
  const id = intent.metadata?.workspace_id;
  return isUuid(id) ? id : null;
}

export async function handleStripeEvent(services: WebhookServices, event: Stripe.Event): Promise<WebhookOutcome> {
  const { db, logger } = services;
  const base = { eventId: event.id, type: event.type };
  if (event.type === "charge.refunded") return { ...base, action: await handleChargeRefunded(services, event) };
  if (event.type === "charge.dispute.created" || event.type === "charge.dispute.closed") return { ...base, action: await handleDispute(services, event) };
  if (event.type !== "payment_intent.succeeded" && event.type !== "payment_intent.payment_failed") return { ...base, action: "ignored" };

  const intent = event.data.object as Stripe.PaymentIntent;
  if (typeof intent.id !== "string") {
    logger.warn({ eventId: event.id }, "Stripe event whose payment intent has no id: ignored");
    return { ...base, action: "ignored" };
  }
  const workspaceId = workspaceOf(intent);
  if (!workspaceId) {
    logger.warn({ eventId: event.id, paymentIntentId: intent.id }, "Stripe event without a workspace_id in its metadata: ignored");
    return { ...base, action: "ignored" };
  }
  const exists = await db.prisma.workspace.findUnique({ where: { id: workspaceId }, select: { id: true } });
  if (!exists) {
    logger.warn({ eventId: event.id, paymentIntentId: intent.id, workspaceId }, "Stripe event for an unknown workspace: ignored");
    return { ...base, action: "ignored" };
  }
  const isRecharge = intent.metadata?.purpose === "auto_recharge";

  if (event.type === "payment_intent.payment_failed") {
    await db.prisma.$executeRaw`INSERT INTO stripe_events (id, type, payment_intent_id) VALUES (${event.id}, ${event.type}, ${intent.id}) ON CONFLICT (id) DO NOTHING`;
    if (isRecharge) {
      await clearRechargeMarker(db, workspaceId);
      const reason = intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code ?? "payment_failed";
      // Once per intent: a replay, or the decline the confirm call already reported, moves nothing.
      const recorded = await recordRechargeFailure(db.prisma, services.config, workspaceId, { reason, paymentIntentId: intent.id });
      logger.warn({ workspaceId, paymentIntentId: intent.id, code: intent.last_payment_error?.code, decline_code: intent.last_payment_error?.decline_code, backoff: recorded ? "extended" : "unchanged" }, "auto-recharge payment failed");
      return { ...base, action: "recharge_failed" };
    }
    return { ...base, action: "ignored" };
  }

  // Stripe amounts are integer cents; anything else is not an amount Stripe sent, so it is
  // acknowledged (Stripe must not retry it) and credits nothing: the ledger never sees a fraction.
  const received: unknown = intent.amount_received ?? 0;
  if (typeof received !== "number" || !Number.isSafeInteger(received) || received > STRIPE_MAX_AMOUNT_CENTS) {
    logger.warn({ eventId: event.id, paymentIntentId: intent.id }, "payment_intent.succeeded whose amount_received is not a whole number of cents Stripe can charge: ignored");
    return { ...base, action: "ignored" };
  }
  const cents = BigInt(received);
  if (cents <= 0n) {
    logger.warn({ eventId: event.id, paymentIntentId: intent.id }, "payment_intent.succeeded with nothing received: ignored");
    return { ...base, action: "ignored" };
  }
  const credited = await db.prisma.$transaction(async (tx) => {
    // The event row and the ledger entry commit together: a concurrent delivery of the
    // same event waits on the primary key, then inserts nothing.
    const recorded = await tx.$queryRaw<Array<{ id: string }>>`
      INSERT INTO stripe_events (id, type, payment_intent_id) VALUES (${event.id}, ${event.type}, ${intent.id})
      ON CONFLICT (id) DO NOTHING RETURNING id`;
    if (!recorded[0]) return false;
    // One intent is credited once even if Stripe ever sent two distinct success events for it.
    const earlier = await tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM stripe_events WHERE payment_intent_id = ${intent.id} AND type = 'payment_intent.succeeded' AND id <> ${event.id} LIMIT 1`;
    if (earlier[0]) return false;
    const result = await credit(tx, {
      workspaceId,
      kind: "topup",
      amountMicros: cents * MICROS_PER_CENT,
      stripeEventId: event.id,
      description: `${isRecharge ? "Auto-recharge" : "Top-up"} via Stripe (${intent.id})`,
    });
    // Money came in: whatever declined before, auto-recharge may try again at once.
    if (result.credited) await resetRechargeBackoff(tx, workspaceId);
    return result.credited;
  });
  if (isRecharge) await clearRechargeMarker(db, workspaceId);
  if (credited) logger.info({ workspaceId, eventId: event.id, paymentIntentId: intent.id, cents: Number(cents) }, "wallet credited from Stripe");
  return { ...base, action: credited ? "credited" : "duplicate" };
}

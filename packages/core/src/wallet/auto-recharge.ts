/**
 * Auto-recharge: when a workspace's available balance falls below its threshold, one
 * off-session PaymentIntent for the configured amount is created and confirmed. At
 * most one is in flight per workspace: a conditional UPDATE claims the marker
 * `auto_recharge_in_flight_until` (now + 15 min) only where it is null or past and the
 * balance is still below the threshold, so of any number of concurrent triggers one
 * wins. The webhook clears the marker (success or failure); a Stripe error clears it
 * here; a lost webhook lets it expire.
 *
 * A failed recharge (a decline from the off-session confirm, or the webhook's
 * `payment_intent.payment_failed`) backs off: the wallet records why and when, and the
 * claim refuses until `auto_recharge_next_attempt_at` (AUTO_RECHARGE_BACKOFF_SECONDS,
 * doubling per failure in a row, capped at AUTO_RECHARGE_BACKOFF_MAX_SECONDS). Without it a
 * declined card would be charged again after every job. A decline counts once per intent
 * (both the API answer and the webhook report it). A successful top-up, or the owner
 * reconfiguring auto-recharge, resets the back-off.
 */
import type { operations } from "@aeriox/contract/api";
import type { Runtime } from "../runtime.ts";
import type { Config } from "../config.ts";
import type { TransactionClient } from "../db/index.ts";
import { ApiError } from "../errors.ts";
import { microsToUsd, usdToMicros } from "../money.ts";
import { insertWalletIfMissing } from "./credit.ts";
import { isStripeError, stripeFor, usdToCents, MICROS_PER_CENT } from "./stripe/client.ts";
import { ensureStripeCustomer } from "./stripe/customers.ts";

export type AutoRechargeServices = Pick<Runtime, "db" | "config" | "logger">;

export const RECHARGE_IN_FLIGHT_MINUTES = 15;

/** Defaults of AUTO_RECHARGE_BACKOFF_SECONDS / _MAX_SECONDS, for callers whose config lacks them. */
export const RECHARGE_BACKOFF_SECONDS = 60;
export const RECHARGE_BACKOFF_MAX_SECONDS = 86_400;

export type BackoffConfig = Partial<Pick<Config, "AUTO_RECHARGE_BACKOFF_SECONDS" | "AUTO_RECHARGE_BACKOFF_MAX_SECONDS">>;

/** The back-off columns at rest: no failure on record, nothing to wait for. */
const NO_FAILURE = {
  autoRechargeFailureReason: null,
  autoRechargeFailedAt: null,
  autoRechargeFailureCount: 0,
  autoRechargeFailedIntentId: null,
  autoRechargeNextAttemptAt: null,
} as const;

/** The body of `POST /v1/wallet/auto-recharge` (configureAutoRecharge), as the spec types it. */
export type AutoRechargeConfigInput = operations["configureAutoRecharge"]["requestBody"]["content"]["application/json"];

export interface AutoRechargeView {
  enabled: boolean;
  threshold_usd?: number;
  amount_usd?: number;
}

export async function configureAutoRecharge(services: Pick<Runtime, "db">, workspaceId: string, input: AutoRechargeConfigInput): Promise<AutoRechargeView> {
  const { db } = services;
  if (!input.enabled) {
    await db.prisma.$transaction(async (tx) => {
      await insertWalletIfMissing(tx, workspaceId);
      await tx.wallet.update({
        where: { workspaceId },
        data: { autoRechargeEnabled: false, autoRechargeThresholdMicros: null, autoRechargeAmountMicros: null, autoRechargePaymentMethodId: null, ...NO_FAILURE },
      });
    });
    return { enabled: false };
  }
  const missing = (["threshold_usd", "amount_usd", "stripe_payment_method_id"] as const).filter((f) => (input as Record<string, unknown>)[f] === undefined);
  if (missing.length) {
    throw ApiError.badRequest("invalid_request", `enabled: true needs ${missing.join(", ")}`, { fields: missing.map((f) => ({ field: `body.${f}`, message: "is required when enabled is true" })) });
  }
  usdToCents(input.amount_usd, "body.amount_usd");
  const threshold = usdToMicros(input.threshold_usd, "body.threshold_usd");
  const amount = usdToMicros(input.amount_usd, "body.amount_usd");
  await db.prisma.$transaction(async (tx) => {
    await insertWalletIfMissing(tx, workspaceId);
    await tx.wallet.update({
      where: { workspaceId },
      // Reconfiguring (typically: a new card after a decline) is the owner's go-ahead: no back-off.
      data: { autoRechargeEnabled: true, autoRechargeThresholdMicros: threshold, autoRechargeAmountMicros: amount, autoRechargePaymentMethodId: input.stripe_payment_method_id, ...NO_FAILURE },
    });
  });
  return { enabled: true, threshold_usd: microsToUsd(threshold), amount_usd: microsToUsd(amount) };
}

export interface AutoRechargeStatus extends AutoRechargeView {
  in_flight_until: string | null;
  /** Why the last recharge failed (Stripe's decline code, else its error code), null when none failed since the last success. */
  last_failure_reason: string | null;
  last_failure_at: string | null;
  /** Failed recharges in a row (reset by a successful top-up or reconfiguring). */
  consecutive_failures: number;
  /** No recharge starts before this (the back-off); null when none is pending. */
  next_attempt_at: string | null;
}

export async function getAutoRecharge(services: Pick<Runtime, "db">, workspaceId: string): Promise<AutoRechargeStatus> {
  const wallet = await services.db.prisma.wallet.findUnique({ where: { workspaceId } });
  const status = {
    in_flight_until: wallet?.autoRechargeInFlightUntil?.toISOString() ?? null,
    last_failure_reason: wallet?.autoRechargeFailureReason ?? null,
    last_failure_at: wallet?.autoRechargeFailedAt?.toISOString() ?? null,
    consecutive_failures: wallet?.autoRechargeFailureCount ?? 0,
    next_attempt_at: wallet?.autoRechargeNextAttemptAt?.toISOString() ?? null,
  };
  if (!wallet?.autoRechargeEnabled) return { enabled: false, ...status };
  return {
    enabled: true,
    threshold_usd: microsToUsd(wallet.autoRechargeThresholdMicros ?? 0n),
    amount_usd: microsToUsd(wallet.autoRechargeAmountMicros ?? 0n),
    ...status,
  };
}

export interface RechargeFailure {
  /** Stripe's decline code, else its error code, else what we saw (e.g. `requires_action`). */
  reason: string;
  /** The intent that failed, when Stripe made one: its failure is counted once. */
  paymentIntentId?: string | null;
}

/**
 * Records a failed recharge and schedules the next attempt: base × 2^(failures before this
 * one), capped. The SET reads the row as it was, so the count and the delay move together
 * in one statement; a second report of the same intent (API answer and webhook) changes nothing.
 */
export async function recordRechargeFailure(db: Pick<TransactionClient, "$executeRaw">, config: BackoffConfig, workspaceId: string, failure: RechargeFailure): Promise<boolean> {
  const base = config.AUTO_RECHARGE_BACKOFF_SECONDS ?? RECHARGE_BACKOFF_SECONDS;
  const max = config.AUTO_RECHARGE_BACKOFF_MAX_SECONDS ?? RECHARGE_BACKOFF_MAX_SECONDS;
  const intent = failure.paymentIntentId ?? null;
  const reason = failure.reason.slice(0, 200);
  const changed = await db.$executeRaw`
    UPDATE wallets SET
           auto_recharge_failure_reason = ${reason},
           auto_recharge_failed_at = now(),
           auto_recharge_failure_count = auto_recharge_failure_count + 1,
           auto_recharge_failed_intent_id = ${intent},
           auto_recharge_next_attempt_at = now() + make_interval(secs => LEAST(${base}::float8 * power(2, LEAST(auto_recharge_failure_count, 40)), ${max}::float8)),
           updated_at = now()
     WHERE workspace_id = ${workspaceId}::uuid
       AND (${intent}::text IS NULL OR auto_recharge_failed_intent_id IS DISTINCT FROM ${intent}::text)`;
  return changed > 0;
}

/** A successful top-up (any, not only a recharge) ends the back-off. */
export async function resetRechargeBackoff(db: Pick<TransactionClient, "$executeRaw">, workspaceId: string): Promise<void> {
  await db.$executeRaw`
    UPDATE wallets SET auto_recharge_failure_reason = NULL, auto_recharge_failed_at = NULL, auto_recharge_failure_count = 0,
           auto_recharge_failed_intent_id = NULL, auto_recharge_next_attempt_at = NULL, updated_at = now()
     WHERE workspace_id = ${workspaceId}::uuid AND (auto_recharge_failure_count > 0 OR auto_recharge_next_attempt_at IS NOT NULL)`;
}

export interface AutoRechargeResult {
  triggered: boolean;
  /** Why nothing was started, when triggered is false ("not_needed" also covers in flight and backing off). */
  reason?: "stripe_not_configured" | "not_needed" | "stripe_error";
  paymentIntentId?: string;
  status?: string;
}

interface ClaimRow {
  amount_micros: bigint;
  payment_method_id: string;
  claimed_until: Date;
}

/** Releases the marker this attempt set (and only that one). */
async function clearMarker(services: AutoRechargeServices, workspaceId: string, claimedUntil: Date): Promise<void> {
  await services.db.prisma.$executeRaw`
    UPDATE wallets SET auto_recharge_in_flight_until = NULL, updated_at = now()
     WHERE workspace_id = ${workspaceId}::uuid AND auto_recharge_in_flight_until = ${claimedUntil}`;
}

export async function maybeAutoRecharge(services: AutoRechargeServices, workspaceId: string): Promise<AutoRechargeResult> {
  const stripe = await stripeFor(services.config);
  if (!stripe) return { triggered: false, reason: "stripe_not_configured" };
  // One statement decides and claims: below threshold, enabled, nothing in flight, not backing off.
  const claimed = await services.db.prisma.$queryRaw<ClaimRow[]>`
    UPDATE wallets SET auto_recharge_in_flight_until = now() + make_interval(mins => ${RECHARGE_IN_FLIGHT_MINUTES}::int)
     WHERE workspace_id = ${workspaceId}::uuid
       AND auto_recharge_enabled
       AND auto_recharge_amount_micros IS NOT NULL AND auto_recharge_threshold_micros IS NOT NULL
       AND auto_recharge_payment_method_id IS NOT NULL
       AND balance_micros - reserved_micros < auto_recharge_threshold_micros
       AND (auto_recharge_in_flight_until IS NULL OR auto_recharge_in_flight_until < now())
       AND (auto_recharge_next_attempt_at IS NULL OR auto_recharge_next_attempt_at <= now())
    RETURNING auto_recharge_amount_micros AS amount_micros, auto_recharge_payment_method_id AS payment_method_id, auto_recharge_in_flight_until AS claimed_until`;
  const claim = claimed[0];
  if (!claim) return { triggered: false, reason: "not_needed" };

  const log = services.logger;
  try {
    const customer = await ensureStripeCustomer(services.db, stripe, workspaceId);
    const intent = await stripe.paymentIntents.create(
      {
        amount: Number(claim.amount_micros / MICROS_PER_CENT),
        currency: "usd",
        customer,
        payment_method: claim.payment_method_id,
        confirm: true,
        off_session: true,
        description: "AERIOX wallet auto-recharge",
        metadata: { workspace_id: workspaceId, purpose: "auto_recharge" },
      },
      // One claim, one intent: a network retry of this call cannot charge twice.
      { idempotencyKey: `aeriox-recharge-${workspaceId}-${claim.claimed_until.getTime()}` },
    );
    if (intent.status === "requires_action" || intent.status === "requires_payment_method" || intent.status === "canceled") {
      await clearMarker(services, workspaceId, claim.claimed_until);
      // Retrying cannot help until the customer acts: back off as for a decline.
      const reason = intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code ?? intent.status;
      await recordRechargeFailure(services.db.prisma, services.config, workspaceId, { reason, paymentIntentId: intent.id });
      log.warn({ workspaceId, paymentIntentId: intent.id, status: intent.status, reason }, "auto-recharge needs the customer; not charged");
    } else {
      log.info({ workspaceId, paymentIntentId: intent.id, status: intent.status, amountUsd: microsToUsd(claim.amount_micros) }, "auto-recharge payment intent confirmed");
    }
    return { triggered: true, paymentIntentId: intent.id, status: intent.status };
  } catch (err) {
    await clearMarker(services, workspaceId, claim.claimed_until).catch(() => undefined);
    // Every failure backs off, not only declines: an unreachable Stripe or a payment method
    // it refuses would otherwise be retried after every job too.
    const reason = isStripeError(err) ? (err.decline_code ?? err.code ?? err.type) : "stripe_unreachable";
    await recordRechargeFailure(services.db.prisma, services.config, workspaceId, { reason, paymentIntentId: isStripeError(err) ? (err.payment_intent?.id ?? null) : null }).catch((e: unknown) =>
      log.warn({ workspaceId, err: (e as Error).message }, "auto-recharge failure not recorded"),
    );
    log.warn(
      { workspaceId, code: isStripeError(err) ? err.code : undefined, decline_code: isStripeError(err) ? err.decline_code : undefined, err: isStripeError(err) ? undefined : (err as Error).message, reason },
      "auto-recharge failed",
    );
    return { triggered: false, reason: "stripe_error" };
  }
}

/**
 * Fire-and-forget trigger for the jobs engine: never throws, never delays the caller.
 * Takes whatever services the caller has; without a config carrying a Stripe key it does nothing.
 */
export function triggerAutoRecharge(services: Pick<Runtime, "db" | "logger"> & { config?: Runtime["config"] }, workspaceId: string): void {
  const config = services.config;
  if (!config?.STRIPE_SECRET_KEY) return;
  void maybeAutoRecharge({ db: services.db, logger: services.logger, config }, workspaceId).catch((err: unknown) => services.logger.warn({ workspaceId, err: (err as Error)?.message }, "auto-recharge check failed"));
}

/**
 * Auto-recharge: when a workspace's available balance falls below its threshold, one
 * off-session PaymentIntent for the configured amount is created and confirmed. At
 * most one is in flight per workspace: a conditional UPDATE claims the marker
 * `auto_recharge_in_flight_until` (now + 15 min) only where it is null or past and the
 * balance is still below the threshold, so of any number of concurrent triggers one
 * wins. The webhook clears the marker (success or failure); a Stripe error clears it
 * here; a lost webhook lets it expire.
 */
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import { microsToUsd, usdToMicros } from "../money.ts";
import { insertWalletIfMissing } from "./credit.ts";
import { isStripeError, stripeFor, usdToCents, MICROS_PER_CENT } from "./stripe/client.ts";
import { ensureStripeCustomer } from "./stripe/customers.ts";

export type AutoRechargeServices = Pick<Runtime, "db" | "config" | "logger">;

export const RECHARGE_IN_FLIGHT_MINUTES = 15;

export type AutoRechargeConfigInput =
  | { enabled: false }
  | { enabled: true; threshold_usd: number; amount_usd: number; stripe_payment_method_id: string };

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
        data: { autoRechargeEnabled: false, autoRechargeThresholdMicros: null, autoRechargeAmountMicros: null, autoRechargePaymentMethodId: null },
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
      data: { autoRechargeEnabled: true, autoRechargeThresholdMicros: threshold, autoRechargeAmountMicros: amount, autoRechargePaymentMethodId: input.stripe_payment_method_id },
    });
  });
  return { enabled: true, threshold_usd: microsToUsd(threshold), amount_usd: microsToUsd(amount) };
}

export async function getAutoRecharge(services: Pick<Runtime, "db">, workspaceId: string): Promise<AutoRechargeView & { in_flight_until: string | null }> {
  const wallet = await services.db.prisma.wallet.findUnique({ where: { workspaceId } });
  if (!wallet?.autoRechargeEnabled) return { enabled: false, in_flight_until: wallet?.autoRechargeInFlightUntil?.toISOString() ?? null };
  return {
    enabled: true,
    threshold_usd: microsToUsd(wallet.autoRechargeThresholdMicros ?? 0n),
    amount_usd: microsToUsd(wallet.autoRechargeAmountMicros ?? 0n),
    in_flight_until: wallet.autoRechargeInFlightUntil?.toISOString() ?? null,
  };
}

export interface AutoRechargeResult {
  triggered: boolean;
  /** Why nothing was started, when triggered is false. */
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
  const stripe = stripeFor(services.config);
  if (!stripe) return { triggered: false, reason: "stripe_not_configured" };
  // One statement decides and claims: below threshold, enabled, nothing in flight.
  const claimed = await services.db.prisma.$queryRaw<ClaimRow[]>`
    UPDATE wallets SET auto_recharge_in_flight_until = now() + make_interval(mins => ${RECHARGE_IN_FLIGHT_MINUTES}::int)
     WHERE workspace_id = ${workspaceId}::uuid
       AND auto_recharge_enabled
       AND auto_recharge_amount_micros IS NOT NULL AND auto_recharge_threshold_micros IS NOT NULL
       AND auto_recharge_payment_method_id IS NOT NULL
       AND balance_micros - reserved_micros < auto_recharge_threshold_micros
       AND (auto_recharge_in_flight_until IS NULL OR auto_recharge_in_flight_until < now())
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
      log.warn({ workspaceId, paymentIntentId: intent.id, status: intent.status }, "auto-recharge needs the customer; not charged");
    } else {
      log.info({ workspaceId, paymentIntentId: intent.id, status: intent.status, amountUsd: microsToUsd(claim.amount_micros) }, "auto-recharge payment intent confirmed");
    }
    return { triggered: true, paymentIntentId: intent.id, status: intent.status };
  } catch (err) {
    await clearMarker(services, workspaceId, claim.claimed_until).catch(() => undefined);
    log.warn(
      { workspaceId, code: isStripeError(err) ? err.code : undefined, decline_code: isStripeError(err) ? err.decline_code : undefined, err: isStripeError(err) ? undefined : (err as Error).message },
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

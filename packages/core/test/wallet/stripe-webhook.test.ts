/**
 * The webhook's domain functions on both backends: signature verification over the raw
 * bytes, exactly-once crediting per event under concurrency, the auto-recharge marker,
 * and the money helpers that keep secrets and fractions of a cent out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Stripe from "stripe";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { createLogger } from "../../src/logger.ts";
import { handleStripeEvent, verifyStripeEvent } from "../../src/wallet/stripe/webhook.ts";
import { redactSecrets, usdToCents } from "../../src/wallet/stripe/client.ts";
import { getWalletSnapshot } from "../../src/wallet/index.ts";
import { isApiError } from "../../src/errors.ts";
import { backends } from "../db/backends.ts";
import { expectConsistent, newWorkspace } from "./fixtures.ts";

const SECRET = "whsec_core_webhook_test_0123456789abcdef";
const config = { STRIPE_WEBHOOK_SECRET: SECRET };
const logger = createLogger({ level: "silent" });

function signed(event: object, secret = SECRET) {
  const payload = JSON.stringify(event);
  return { raw: Buffer.from(payload), header: Stripe.webhooks.generateTestHeaderString({ payload, secret }) };
}

const succeeded = (id: string, workspaceId: string, cents: number, purpose = "topup") => ({
  id,
  object: "event",
  type: "payment_intent.succeeded",
  data: { object: { id: `pi_${id}`, object: "payment_intent", amount: cents, amount_received: cents, currency: "usd", metadata: { workspace_id: workspaceId, purpose } } },
});

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (err) {
    return isApiError(err) ? `${err.status} ${err.code}` : String(err);
  }
};
const asyncCodeOf = (promise: Promise<unknown>) => promise.then(() => "ok", (err: unknown) => (isApiError(err) ? `${err.status} ${err.code}` : String(err)));

describe("verifyStripeEvent", () => {
  const event = succeeded("evt_v", "00000000-0000-4000-8000-000000000000", 500);
  it("accepts Stripe's signature over the exact bytes, and nothing else", async () => {
    const { raw, header } = signed(event);
    expect((await verifyStripeEvent(config, raw, header)).id).toBe("evt_v");
    expect(await asyncCodeOf(verifyStripeEvent(config, Buffer.from(raw.toString().replace("500", "900")), header))).toBe("400 invalid_signature");
    expect(await asyncCodeOf(verifyStripeEvent(config, raw, signed(event, "whsec_other").header))).toBe("400 invalid_signature");
    expect(await asyncCodeOf(verifyStripeEvent(config, raw, undefined))).toBe("400 invalid_signature");
    expect(await asyncCodeOf(verifyStripeEvent(config, undefined, header))).toBe("400 invalid_payload");
    expect(await asyncCodeOf(verifyStripeEvent({ STRIPE_WEBHOOK_SECRET: undefined }, raw, header))).toBe("400 stripe_not_configured");
  });
});

describe("money helpers", () => {
  it("whole cents only; secrets redacted", () => {
    expect(usdToCents(12.34, "x")).toBe(1234);
    expect(usdToCents(1000, "x")).toBe(100000);
    expect(codeOf(() => usdToCents(10.005, "x"))).toBe("400 invalid_request");
    expect(redactSecrets("Invalid API Key provided: sk_test_abc123 and whsec_xyz")).toBe("Invalid API Key provided: sk_test_[redacted] and whsec_[redacted]");
  });
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`handleStripeEvent on ${backend.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("50 concurrent deliveries of one event credit it once; the event is recorded once", async () => {
      const ws = await newWorkspace(db);
      const event = await verifyStripeEvent(config, signed(succeeded(`evt_${ws}`, ws, 1999)).raw, signed(succeeded(`evt_${ws}`, ws, 1999)).header);
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => handleStripeEvent({ db, config, logger }, event)));
      expect(outcomes.filter((o) => o.action === "credited")).toHaveLength(1);
      expect(outcomes.filter((o) => o.action === "duplicate")).toHaveLength(49);
      const snap = await getWalletSnapshot(db, ws);
      expect(snap.totalMicros).toBe(19_990_000n);
      expect(await db.prisma.stripeEvent.count({ where: { id: `evt_${ws}` } })).toBe(1);
      await expectConsistent(db, ws);
    });

    it("clears the auto-recharge marker for recharge intents only", async () => {
      const ws = await newWorkspace(db);
      const until = new Date(Date.now() + 600_000);
      await db.prisma.wallet.create({ data: { workspaceId: ws, autoRechargeInFlightUntil: until } });
      const topup = signed(succeeded(`evt_t_${ws}`, ws, 500));
      await handleStripeEvent({ db, config, logger }, await verifyStripeEvent(config, topup.raw, topup.header));
      expect((await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: ws } })).autoRechargeInFlightUntil).toEqual(until);
      const recharge = signed(succeeded(`evt_r_${ws}`, ws, 500, "auto_recharge"));
      await handleStripeEvent({ db, config, logger }, await verifyStripeEvent(config, recharge.raw, recharge.header));
      expect((await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: ws } })).autoRechargeInFlightUntil).toBeNull();
      expect((await getWalletSnapshot(db, ws)).totalMicros).toBe(10_000_000n);
      await expectConsistent(db, ws);
    });
  });
}

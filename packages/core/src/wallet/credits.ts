/**
 * `GET /v1/credits` (deprecated): the legacy credit view, derived from the same ledger
 * as `/v1/wallet` (1 credit = 1 US cent). Nothing here is stored separately.
 */
import type { Runtime } from "../runtime.ts";
import type { Principal } from "../auth/principal.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { microsToCredits, microsToUsd } from "../money.ts";
import { spendCapOf } from "./estimate.ts";
import { keySpend24h } from "./holds.ts";

export const LEGACY_PLAN = "prepaid";

function priceExamples(entries: CatalogEntry[], available: bigint) {
  return entries.map((e) => ({
    model: e.model,
    usd: microsToUsd(e.priceMicros),
    credits: microsToCredits(e.priceMicros),
    affordable_now: e.priceMicros > 0n ? Number(available / e.priceMicros) : null,
  }));
}

export async function getCredits(services: Pick<Runtime, "db" | "catalog">, principal: Principal) {
  const ws = principal.workspaceId;
  const [wallet, purchased] = await Promise.all([
    services.db.prisma.wallet.findUnique({ where: { workspaceId: ws }, select: { balanceMicros: true, reservedMicros: true } }),
    services.db.prisma.$queryRaw<Array<{ sum: bigint }>>`
      SELECT COALESCE(SUM(amount_micros), 0)::bigint AS sum FROM ledger_entries WHERE workspace_id = ${ws}::uuid AND kind = 'topup'`,
  ]);
  const available = (wallet?.balanceMicros ?? 0n) - (wallet?.reservedMicros ?? 0n);
  const cap = await spendCapOf(services, principal);
  const spent = cap ? cap.spentMicros : principal.apiKeyId ? await keySpend24h(services.db.prisma, principal.apiKeyId) : 0n;
  const entries = services.catalog.list();
  return {
    plan: LEGACY_PLAN,
    credits: { balance: microsToCredits(available), monthly_grant: 0, purchased: microsToCredits(purchased[0]?.sum ?? 0n) },
    image: { unit: "image", prices: priceExamples(entries.filter((e) => e.kind === "image"), available) },
    video: { unit: "second", prices: priceExamples(entries.filter((e) => e.kind === "video"), available) },
    api_key_24h_spend_usd: microsToUsd(spent),
    api_key_daily_cap_usd: cap ? microsToUsd(cap.capMicros) : null,
  };
}

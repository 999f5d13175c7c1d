/** Read side of the wallet: balances for `GET /v1/wallet` and the ledger sum for invariant checks. */
import type { LedgerEntry } from "../db/index.ts";
import { queryClient, type WalletDb } from "./client.ts";

export interface WalletSnapshot {
  workspaceId: string;
  currency: string;
  /** Sum of the ledger. */
  totalMicros: bigint;
  /** Held by queued/running jobs. */
  reservedMicros: bigint;
  /** total − reserved; never negative. */
  availableMicros: bigint;
  /** Most recent first. */
  entries: LedgerEntry[];
}

export async function getWalletSnapshot(db: WalletDb, workspaceId: string, limit = 20): Promise<WalletSnapshot> {
  const client = queryClient(db);
  const [wallet, entries] = await Promise.all([
    client.wallet.findUnique({ where: { workspaceId } }),
    client.ledgerEntry.findMany({ where: { workspaceId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: limit }),
  ]);
  const total = wallet?.balanceMicros ?? 0n;
  const reserved = wallet?.reservedMicros ?? 0n;
  return { workspaceId, currency: wallet?.currency ?? "USD", totalMicros: total, reservedMicros: reserved, availableMicros: total - reserved, entries };
}

/** sum(ledger_entries.amount_micros) of the workspace. */
export async function sumEntries(db: WalletDb, workspaceId: string): Promise<bigint> {
  const rows = await queryClient(db).$queryRaw<Array<{ sum: bigint }>>`
    SELECT COALESCE(SUM(amount_micros), 0)::bigint AS sum FROM ledger_entries WHERE workspace_id = ${workspaceId}::uuid`;
  return rows[0]?.sum ?? 0n;
}

export interface WalletAudit {
  balanceMicros: bigint;
  ledgerSumMicros: bigint;
  reservedMicros: bigint;
  openHoldsMicros: bigint;
  /** `wallets.held_count`, the in-flight counter. */
  heldCount: number;
  /** Holds still `held`, counted. */
  openHoldsCount: number;
  /** Every broken invariant, in words; empty when the wallet is consistent. */
  problems: string[];
}

/** The docs/ARCHITECTURE.md money invariants, checked for one workspace (tests call this after every scenario). */
export async function auditWallet(db: WalletDb, workspaceId: string): Promise<WalletAudit> {
  const client = queryClient(db);
  const rows = await client.$queryRaw<Array<{ balance: bigint; reserved: bigint; debt: bigint; ledger: bigint; held: bigint; held_count: number; open_holds: number }>>`
    SELECT COALESCE((SELECT balance_micros FROM wallets WHERE workspace_id = ${workspaceId}::uuid), 0)::bigint AS balance,
           COALESCE((SELECT stripe_debt_micros FROM wallets WHERE workspace_id = ${workspaceId}::uuid), 0)::bigint AS debt,
           COALESCE((SELECT reserved_micros FROM wallets WHERE workspace_id = ${workspaceId}::uuid), 0)::bigint AS reserved,
           COALESCE((SELECT SUM(amount_micros) FROM ledger_entries WHERE workspace_id = ${workspaceId}::uuid), 0)::bigint AS ledger,
           COALESCE((SELECT SUM(amount_micros) FROM holds WHERE workspace_id = ${workspaceId}::uuid AND status = 'held'), 0)::bigint AS held,
           COALESCE((SELECT held_count FROM wallets WHERE workspace_id = ${workspaceId}::uuid), 0)::integer AS held_count,
           (SELECT COUNT(*) FROM holds WHERE workspace_id = ${workspaceId}::uuid AND status = 'held')::integer AS open_holds`;
  const r = rows[0]!;
  const problems: string[] = [];
  // Key budgets (migration 20261201600000_key_budgets): each key's spend of a month is exactly
  // the held + captured amounts of the holds placed that month (releases and unused holds given back).
  const budgets = await client.$queryRaw<Array<{ api_key_id: string; month: string; counted: bigint; holds: bigint }>>`
    WITH counted AS (
      SELECT m.api_key_id, m.month, m.spent_micros FROM api_key_monthly_spend AS m
        JOIN api_keys AS k ON k.id = m.api_key_id WHERE k.workspace_id = ${workspaceId}::uuid
    ), placed AS (
      SELECT api_key_id, budget_month AS month,
             SUM(CASE status WHEN 'held' THEN amount_micros WHEN 'captured' THEN captured_micros ELSE 0 END)::bigint AS spent_micros
        FROM holds WHERE workspace_id = ${workspaceId}::uuid AND budget_month IS NOT NULL GROUP BY api_key_id, budget_month
    )
    SELECT COALESCE(c.api_key_id, p.api_key_id)::text AS api_key_id, to_char(COALESCE(c.month, p.month), 'YYYY-MM') AS month,
           COALESCE(c.spent_micros, 0)::bigint AS counted, COALESCE(p.spent_micros, 0)::bigint AS holds
      FROM counted AS c FULL JOIN placed AS p ON p.api_key_id = c.api_key_id AND p.month = c.month
     WHERE COALESCE(c.spent_micros, 0) <> COALESCE(p.spent_micros, 0)`;
  for (const b of budgets) {
    problems.push(`key ${b.api_key_id} month ${b.month}: spend ${b.counted} != held + captured of its holds ${b.holds}`);
  }
  if (r.balance !== r.ledger) problems.push(`balance ${r.balance} != sum(ledger_entries) ${r.ledger}`);
  if (r.reserved !== r.held) problems.push(`reserved ${r.reserved} != sum(open holds) ${r.held}`);
  // The in-flight cap reads this counter (holds.ts): it must be exact, not an estimate.
  if (r.held_count !== r.open_holds) problems.push(`held_count ${r.held_count} != number of open holds ${r.open_holds}`);
  if (r.reserved < 0n) problems.push(`reserved ${r.reserved} < 0`);
  // Only money that left through Stripe (refund, dispute) may take the balance below the holds.
  if (r.balance + r.debt - r.reserved < 0n) problems.push(`available ${r.balance - r.reserved} < 0 beyond the Stripe debt ${r.debt}`);
  if (r.debt < 0n) problems.push(`stripe debt ${r.debt} < 0`);
  return { balanceMicros: r.balance, ledgerSumMicros: r.ledger, reservedMicros: r.reserved, openHoldsMicros: r.held, heldCount: r.held_count, openHoldsCount: r.open_holds, problems };
}

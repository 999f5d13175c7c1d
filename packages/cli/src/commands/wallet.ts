/** `aeriox wallet …`: look at a workspace's wallet and adjust it (self-hoster administration). */
import type { Command } from "@commander-js/extra-typings";
import { loadConfig } from "@aeriox/core/config";
import { UsageError } from "../output.ts";
import { admin, adminCall } from "./admin-command.ts";

interface WalletView {
  workspace_id: string;
  workspace_name: string;
  balance: { available_usd: number; reserved_usd: number; total_usd: number };
  recent_transactions: Array<{ kind: string; amount_usd: number; description: string | null; created_at: string; job_id: string | null }>;
  stripe_customer_id: string | null;
  auto_recharge: { enabled: boolean; threshold_usd?: number; amount_usd?: number; in_flight_until: string | null };
  entry_id?: string;
  amount_usd?: number;
}

const money = (n: number) => `$${n.toFixed(6).replace(/0{1,4}$/, "")}`;

function describe(view: WalletView): string {
  const lines = [
    `workspace ${view.workspace_name} (${view.workspace_id})`,
    `  available ${money(view.balance.available_usd)}   reserved ${money(view.balance.reserved_usd)}   total ${money(view.balance.total_usd)}`,
    `  auto-recharge: ${view.auto_recharge.enabled ? `below ${money(view.auto_recharge.threshold_usd ?? 0)} add ${money(view.auto_recharge.amount_usd ?? 0)}${view.auto_recharge.in_flight_until ? " (recharge in flight)" : ""}` : "off"}`,
  ];
  if (view.recent_transactions.length) {
    lines.push("  recent:");
    for (const t of view.recent_transactions.slice(0, 10)) {
      lines.push(`    ${t.created_at}  ${t.kind.padEnd(10)} ${money(t.amount_usd).padStart(14)}  ${t.description ?? t.job_id ?? ""}`);
    }
  }
  return lines.join("\n");
}

/** Parses --usd: a non-zero number with at most 6 decimals (the server checks the bounds too). */
function parseAmount(value: string): number {
  if (!/^-?\d+(\.\d{1,6})?$/.test(value.trim())) throw new UsageError("--usd must be a number of USD with at most 6 decimals, e.g. 10 or -2.5");
  const n = Number(value);
  if (n === 0) throw new UsageError("--usd must not be zero");
  if (Math.abs(n) > 100_000) throw new UsageError("--usd must be at most 100000 in absolute value");
  return n;
}

export function registerWallet(program: Command): void {
  const wallet = program.command("wallet").description("Show and adjust workspace wallets");
  adminCall(
    wallet
      .command("show")
      .description("Balance, reservations, auto-recharge and recent ledger entries of a workspace")
      .requiredOption("-w, --workspace <name-or-id>", "workspace name or id"),
    (opts) => admin<WalletView>(loadConfig(), "wallet.show", { workspace: opts.workspace }),
    describe,
  );
  adminCall(
    wallet
      .command("credit")
      .description("Add (or, negative, remove) funds as an adjustment entry in the ledger")
      .requiredOption("-w, --workspace <name-or-id>", "workspace name or id")
      .requiredOption("--usd <amount>", "USD amount; negative to deduct (never below the available balance)")
      .option("--reason <text>", "why (kept on the ledger entry)")
      .allowUnknownOption(false),
    (opts) => {
      const usd = parseAmount(opts.usd);
      return admin<WalletView>(loadConfig(), "wallet.credit", { workspace: opts.workspace, usd, ...(opts.reason ? { reason: opts.reason } : {}) });
    },
    (result, opts) => `Adjusted by ${money(parseAmount(opts.usd))} (entry ${result.entry_id})\n${describe(result)}`,
  );
}

/**
 * The $5 free trial: credited with a workspace's first key, exactly once
 * (the wallet's trial credit is idempotent per workspace).
 */
import type { Config } from "../config.ts";
import type { Database } from "../db/index.ts";
import { usdToMicros } from "../money.ts";

type Tx = Parameters<Parameters<Database["prisma"]["$transaction"]>[0]>[0];

export async function creditTrialOnce(tx: Tx, config: Pick<Config, "TRIAL_CREDIT_USD">, workspaceId: string): Promise<void> {
  const amount = usdToMicros(config.TRIAL_CREDIT_USD);
  if (amount <= 0n) return;
  // Hook point for the wallet ledger: implemented once the ledger lands.
  void tx;
  void workspaceId;
}

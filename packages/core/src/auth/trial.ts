/**
 * The $5 free trial: credited with a workspace's first key, exactly once (the
 * wallet flips `workspaces.trial_credited_at` in the same transaction as the entry).
 */
import type { Config } from "../config.ts";
import type { TransactionClient } from "../db/index.ts";
import { usdToMicros } from "../money.ts";
import { credit } from "../wallet/credit.ts";

export async function creditTrialOnce(tx: TransactionClient, config: Pick<Config, "TRIAL_CREDIT_USD">, workspaceId: string): Promise<void> {
  const amount = usdToMicros(config.TRIAL_CREDIT_USD);
  if (amount <= 0n) return;
  await credit(tx, { workspaceId, kind: "trial", amountMicros: amount, description: "Free trial credit" });
}

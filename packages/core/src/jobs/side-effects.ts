/**
 * Domain effects of a job reaching a terminal state, applied in the SAME
 * transaction as the state change and its settlement (e.g. a training job marks
 * its character ready or failed). Keep each effect small and idempotent.
 */
import type { TransactionClient } from "../db/index.ts";
import type { JobStatus } from "./states.ts";

export interface TerminalJob {
  id: string;
  type: string;
  workspaceId: string;
  status: JobStatus;
  characterId: string | null;
  outputAssetIds: string[];
}

export async function applyTerminalSideEffects(tx: TransactionClient, job: TerminalJob): Promise<void> {
  void tx;
  void job;
}

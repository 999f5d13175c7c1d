/**
 * Domain effects of a job reaching a terminal state, applied in the SAME
 * transaction as the state change and its settlement (e.g. a training job marks
 * its character ready or failed). Keep each effect small and idempotent.
 *
 * character_train: completed → the character is `ready` with `lora_url`
 * (`aeriox-asset://<artifact asset id>`, see characters/lora-ref.ts) and the voice id
 * chosen at submission (job input `voice_id`); failed / cancelled / nsfw_blocked →
 * `failed`. Only a `training` character moves (idempotent; a soft-deleted one still
 * records the outcome).
 *
 * Every terminal state: the `job.completed` webhook deliveries of the job's targets are recorded
 * (webhooks/events.ts), so they exist exactly when the terminal state does.
 */
import type { TransactionClient } from "../db/index.ts";
import { loraUrlFor } from "../characters/lora-ref.ts";
import type { JobStatus } from "./states.ts";
import { recordJobEvent } from "../webhooks/events.ts";

export interface TerminalJob {
  id: string;
  type: string;
  workspaceId: string;
  status: JobStatus;
  characterId: string | null;
  outputAssetIds: string[];
}

/** Returns how many webhook deliveries it recorded (`job.completed`, webhooks/events.ts): the caller kicks them after commit. */
export async function applyTerminalSideEffects(tx: TransactionClient, job: TerminalJob): Promise<number> {
  if (job.type === "character_train" && job.characterId) await settleCharacter(tx, job, job.characterId);
  return recordJobEvent(tx, job, "job.completed", null);
}

async function settleCharacter(tx: TransactionClient, job: TerminalJob, characterId: string): Promise<void> {
  const where = { id: characterId, workspaceId: job.workspaceId, status: "training" as const };
  const artifact = job.outputAssetIds[0];
  if (job.status === "completed" && artifact) {
    const row = await tx.job.findUnique({ where: { id: job.id }, select: { input: true } });
    const voice = (row?.input as { voice_id?: unknown } | null)?.voice_id;
    await tx.character.updateMany({ where, data: { status: "ready", loraUrl: loraUrlFor(artifact), voiceId: typeof voice === "string" ? voice : null, jobId: job.id } });
    return;
  }
  await tx.character.updateMany({ where, data: { status: "failed", jobId: job.id } });
}

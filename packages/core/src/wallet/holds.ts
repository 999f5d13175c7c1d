/**
 * Reservations and their settlement, each idempotent per job.
 *
 * reserve: lock the wallet row (FOR UPDATE), check the key's daily spend cap and the
 *   available balance, then reserved += amount and insert the hold. The lock makes the
 *   cap check and the debit one atomic step: every reservation, capture and release of
 *   a workspace updates that row, so they queue on it and each sees the others' commits.
 * capture: CAS hold held→captured; ledger entry `capture` of -actual; balance -= actual,
 *   reserved -= hold. Never above the hold (that is a bug in the caller: it throws).
 * release: CAS hold held→released; reserved -= hold. No ledger entry: the balance did
 *   not change (the money never left it), and the ledger records balance changes only.
 *   (`refund` entries are for giving back money that was already captured.)
 *
 * Settling twice, or capturing after a release (or vice versa), returns the existing
 * settlement and moves no money. Lock order everywhere: job → hold → wallet.
 */
import { ApiError } from "../errors.ts";
import type { TransactionClient } from "../db/index.ts";
import { inTransaction, type WalletDb } from "./client.ts";
import { insertWalletIfMissing } from "./credit.ts";
import { insufficientFunds, spendCapExceeded } from "./errors.ts";

export interface ReserveInput {
  workspaceId: string;
  jobId: string;
  amountMicros: bigint;
  apiKeyId?: string | null;
  /** The key's cap over the trailing 24 h (captured + held); null/undefined = no cap. */
  dailySpendCapMicros?: bigint | null;
}

export interface HoldResult {
  jobId: string;
  heldMicros: bigint;
  /** Available balance after the reservation. */
  availableMicros: bigint;
  /** false when the job already had a hold (nothing reserved twice). */
  created: boolean;
}

interface WalletRow {
  balance_micros: bigint;
  reserved_micros: bigint;
}

async function lockWallet(tx: TransactionClient, workspaceId: string): Promise<WalletRow> {
  const lock = () => tx.$queryRaw<WalletRow[]>`SELECT balance_micros, reserved_micros FROM wallets WHERE workspace_id = ${workspaceId}::uuid FOR UPDATE`;
  const rows = await lock();
  if (rows[0]) return rows[0];
  await insertWalletIfMissing(tx, workspaceId);
  return (await lock())[0]!;
}

/** Captured (by capture time) plus still-held spend of a key over the trailing 24 h (read-only; estimates use it too). */
export async function keySpend24h(tx: Pick<TransactionClient, "$queryRaw">, apiKeyId: string): Promise<bigint> {
  const rows = await tx.$queryRaw<Array<{ spent: bigint }>>`
    SELECT (
      COALESCE((SELECT -SUM(amount_micros) FROM ledger_entries
                 WHERE api_key_id = ${apiKeyId}::uuid AND kind = 'capture' AND created_at > now() - interval '24 hours'), 0)
    + COALESCE((SELECT SUM(amount_micros) FROM holds WHERE api_key_id = ${apiKeyId}::uuid AND status = 'held'), 0)
    )::bigint AS spent`;
  return rows[0]?.spent ?? 0n;
}

export async function reserve(db: WalletDb, input: ReserveInput): Promise<HoldResult> {
  const { workspaceId, jobId, amountMicros } = input;
  if (amountMicros < 0n) throw new RangeError("reservation must not be negative");

  return inTransaction(db, async (tx) => {
    const wallet = await lockWallet(tx, workspaceId);
    const existing = await tx.hold.findUnique({ where: { jobId } });
    if (existing) {
      if (existing.workspaceId !== workspaceId) throw new ApiError(409, "hold_conflict", "This job already has a reservation in another workspace");
      return { jobId, heldMicros: existing.amountMicros, availableMicros: wallet.balance_micros - wallet.reserved_micros, created: false };
    }

    if (input.apiKeyId && input.dailySpendCapMicros !== null && input.dailySpendCapMicros !== undefined) {
      const spent = await keySpend24h(tx, input.apiKeyId);
      if (spent + amountMicros > input.dailySpendCapMicros) throw spendCapExceeded(input.dailySpendCapMicros, spent, amountMicros);
    }

    const available = wallet.balance_micros - wallet.reserved_micros;
    if (available < amountMicros) throw insufficientFunds(amountMicros, available);
    // Conditional even under the lock: the database, not this process, has the last word.
    const updated = await tx.$queryRaw<WalletRow[]>`
      UPDATE wallets SET reserved_micros = reserved_micros + ${amountMicros}, updated_at = now()
       WHERE workspace_id = ${workspaceId}::uuid AND balance_micros - reserved_micros >= ${amountMicros}
      RETURNING balance_micros, reserved_micros`;
    if (!updated[0]) throw insufficientFunds(amountMicros, available);
    await tx.hold.create({ data: { jobId, workspaceId, apiKeyId: input.apiKeyId ?? null, amountMicros } });
    return { jobId, heldMicros: amountMicros, availableMicros: updated[0].balance_micros - updated[0].reserved_micros, created: true };
  });
}

export interface Settlement {
  jobId: string;
  status: "captured" | "released";
  heldMicros: bigint;
  /** What was debited (0 for a release). */
  capturedMicros: bigint;
  /** true when this call found the job already settled and changed nothing. */
  alreadySettled: boolean;
}

interface HoldRow {
  workspace_id: string;
  api_key_id: string | null;
  amount_micros: bigint;
  status: "held" | "captured" | "released";
  captured_micros: bigint | null;
}

/** Locks the hold so a concurrent capture and release of one job queue on it. */
async function lockHold(tx: TransactionClient, jobId: string): Promise<HoldRow> {
  const rows = await tx.$queryRaw<HoldRow[]>`
    SELECT workspace_id::text, api_key_id::text, amount_micros, status::text, captured_micros
      FROM holds WHERE job_id = ${jobId}::uuid FOR UPDATE`;
  if (!rows[0]) throw new ApiError(500, "hold_not_found", `No reservation exists for job ${jobId}`);
  return rows[0];
}

function existingSettlement(jobId: string, hold: HoldRow): Settlement {
  return {
    jobId,
    status: hold.status === "captured" ? "captured" : "released",
    heldMicros: hold.amount_micros,
    capturedMicros: hold.captured_micros ?? 0n,
    alreadySettled: true,
  };
}

export interface CaptureInput {
  jobId: string;
  /** The actual cost; null/undefined when the provider did not report one → settled at the hold. */
  actualMicros?: bigint | null;
  logger?: { warn(obj: object, msg: string): void };
}

export async function capture(db: WalletDb, input: CaptureInput): Promise<Settlement> {
  const { jobId } = input;
  return inTransaction(db, async (tx) => {
    const hold = await lockHold(tx, jobId);
    if (hold.status !== "held") return existingSettlement(jobId, hold);

    let actual = input.actualMicros;
    if (actual === null || actual === undefined) {
      actual = hold.amount_micros;
      (input.logger ?? { warn: (o: object, m: string) => console.warn(m, o) }).warn({ jobId, heldMicros: String(actual) }, "capture without an actual cost: settling at the reserved amount");
    }
    if (actual < 0n) throw new RangeError("actual cost must not be negative");
    if (actual > hold.amount_micros) {
      // The estimate is the customer's ceiling; charging more is a pricing bug, never silent.
      throw new ApiError(500, "capture_exceeds_hold", `Capture of ${actual} micros exceeds the ${hold.amount_micros} micros reserved for job ${jobId}`);
    }

    await tx.$executeRaw`UPDATE holds SET status = 'captured', captured_micros = ${actual}, settled_at = now() WHERE job_id = ${jobId}::uuid AND status = 'held'`;
    // UNIQUE (job_id, kind) is the last line of defence against a second debit.
    await tx.$executeRaw`
      INSERT INTO ledger_entries (workspace_id, kind, amount_micros, job_id, api_key_id)
      VALUES (${hold.workspace_id}::uuid, 'capture', ${-actual}, ${jobId}::uuid, ${hold.api_key_id}::uuid)`;
    await tx.$executeRaw`
      UPDATE wallets SET balance_micros = balance_micros - ${actual}, reserved_micros = reserved_micros - ${hold.amount_micros}, updated_at = now()
       WHERE workspace_id = ${hold.workspace_id}::uuid`;
    return { jobId, status: "captured", heldMicros: hold.amount_micros, capturedMicros: actual, alreadySettled: false };
  });
}

export async function release(db: WalletDb, input: { jobId: string }): Promise<Settlement> {
  const { jobId } = input;
  return inTransaction(db, async (tx) => {
    const hold = await lockHold(tx, jobId);
    if (hold.status !== "held") return existingSettlement(jobId, hold);
    await tx.$executeRaw`UPDATE holds SET status = 'released', settled_at = now() WHERE job_id = ${jobId}::uuid AND status = 'held'`;
    await tx.$executeRaw`
      UPDATE wallets SET reserved_micros = reserved_micros - ${hold.amount_micros}, updated_at = now()
       WHERE workspace_id = ${hold.workspace_id}::uuid`;
    return { jobId, status: "released", heldMicros: hold.amount_micros, capturedMicros: 0n, alreadySettled: false };
  });
}

/**
 * Reservations and their settlement, each idempotent per job.
 *
 * reserve: ONE statement, `aeriox_reserve(…)` (a PL/pgSQL function created by the migration
 *   `20261201000000_hot_path_accept`). It locks the wallet row first (FOR UPDATE, held to
 *   commit), then checks in order: the job's existing hold (idempotent), the in-flight cap
 *   against `wallets.held_count`, the key's trailing-24 h spend cap (captured + held, as
 *   keySpend24h computes it), the key's monthly budget (this UTC month's spend of the key,
 *   kept in `api_key_monthly_spend` by migration `20261201600000_key_budgets`), the available
 *   balance; then reserved += amount, held_count += 1, the hold row (with its budget month)
 *   and the key's month row += amount. The lock makes every check and the debit one atomic
 *   step: every reservation, capture and release of a workspace updates that row, so they
 *   queue on it and each sees the others' commits. A refusal changes nothing and names the
 *   check that refused, from which the same 402/429 errors as ever are built here.
 *   Accepting a job (`submitJob`) calls `aeriox_accept_job`, which runs the same function
 *   and inserts the job row in the same statement (ARCHITECTURE.md, Money, "Hot path").
 * capture: ONE statement: CAS hold held→captured (only when actual ≤ hold); ledger entry
 *   `capture` of -actual; balance -= actual, reserved -= hold, held_count -= 1; the key's
 *   spend of the hold's budget month -= hold − actual. Never above the hold (that is a bug
 *   in the caller: it throws).
 * release: ONE statement: CAS hold held→released; reserved -= hold, held_count -= 1; the
 *   key's spend of the hold's budget month -= hold (the budget is given back). No
 *   ledger entry: the balance did not change (the money never left it), and the ledger
 *   records balance changes only. (`refund` entries are for giving back money that was
 *   already captured.)
 *
 * `wallets.held_count` is the number of `held` holds (= jobs in flight, since a job's
 * terminal transition settles its hold in the same transaction). It moves only in the
 * statement that moves a hold into or out of `held`, and the wallet update of a settlement
 * runs only for the row its CAS changed: a second settlement finds no `held` hold and
 * decrements nothing, under any concurrency and across crashes (auditWallet checks it).
 * Upgrading: stop every process of the previous version before this one migrates (they
 * reserve and settle without moving the counter; the CHECK held_count >= 0 would then
 * refuse a settlement of theirs, and their settlements of ours would leave it high).
 *
 * Settling twice, or capturing after a release (or vice versa), returns the existing
 * settlement and moves no money. Lock order everywhere: job → hold → wallet (a
 * reservation locks the wallet, then inserts a hold no one else can hold yet).
 *
 * Given a Database these statements go through its raw driver (`Database.query`); given
 * a Prisma client or a transaction they join it (see client.ts).
 */
import { ApiError } from "../errors.ts";
import type { TransactionClient } from "../db/index.ts";
import { runStatement, type WalletDb } from "./client.ts";
import { insufficientFunds, keyBudgetExceeded, spendCapExceeded } from "./errors.ts";

export interface ReserveInput {
  workspaceId: string;
  jobId: string;
  amountMicros: bigint;
  apiKeyId?: string | null;
  /** The key's cap over the trailing 24 h (captured + held); null/undefined = no cap. */
  dailySpendCapMicros?: bigint | null;
  /** The key's budget for the current UTC calendar month (held + captured); null/undefined = none. */
  monthlyBudgetMicros?: bigint | null;
  /** Refuse (429 `concurrency_limit`) when the workspace already holds this many; null/undefined = no cap. */
  maxInFlight?: number | null;
}

export interface HoldResult {
  jobId: string;
  heldMicros: bigint;
  /** Available balance after the reservation. */
  availableMicros: bigint;
  /** false when the job already had a hold (nothing reserved twice). */
  created: boolean;
}

/** What `aeriox_reserve` (and `aeriox_accept_job`) return: which check refused, and the figures for its error. */
export interface ReserveOutcomeRow {
  outcome: "reserved" | "existing" | "hold_conflict" | "concurrency_limit" | "spend_cap_exceeded" | "key_budget_exceeded" | "insufficient_funds";
  held_micros: bigint | null;
  available_micros: bigint | null;
  held_count: number | null;
  spent_micros: bigint | null;
}

/** Retry-After of a 429 `concurrency_limit`. */
const CONCURRENCY_RETRY_AFTER_S = 5;

/** The reservation's result, or the error of the check that refused it (the same codes and `details` as ever). */
export function reservationResult(row: ReserveOutcomeRow, input: ReserveInput): HoldResult {
  const available = row.available_micros ?? 0n;
  switch (row.outcome) {
    case "reserved":
    case "existing":
      return { jobId: input.jobId, heldMicros: row.held_micros ?? input.amountMicros, availableMicros: available, created: row.outcome === "reserved" };
    case "hold_conflict":
      throw new ApiError(409, "hold_conflict", "This job already has a reservation in another workspace");
    case "concurrency_limit": {
      const inFlight = row.held_count ?? 0;
      throw ApiError.tooManyRequests("concurrency_limit", `This workspace already has ${inFlight} jobs in flight (limit ${input.maxInFlight})`, CONCURRENCY_RETRY_AFTER_S);
    }
    case "spend_cap_exceeded":
      throw spendCapExceeded(input.dailySpendCapMicros!, row.spent_micros ?? 0n, input.amountMicros);
    case "key_budget_exceeded":
      throw keyBudgetExceeded(input.monthlyBudgetMicros!, row.spent_micros ?? 0n, input.amountMicros);
    case "insufficient_funds":
      throw insufficientFunds(input.amountMicros, available);
    default:
      throw new Error(`unknown reservation outcome ${String(row.outcome)}`);
  }
}

/** The cap arguments as the SQL functions take them (null = no check). */
export function reserveCaps(input: ReserveInput): { spendCap: bigint | null; maxHeld: number | null; monthlyBudget: bigint | null } {
  const spendCap = input.apiKeyId && input.dailySpendCapMicros !== null && input.dailySpendCapMicros !== undefined ? input.dailySpendCapMicros : null;
  const monthlyBudget = input.apiKeyId && input.monthlyBudgetMicros !== null && input.monthlyBudgetMicros !== undefined ? input.monthlyBudgetMicros : null;
  return { spendCap, maxHeld: input.maxInFlight ?? null, monthlyBudget };
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

const RESERVE_SQL = `
  SELECT outcome, held_micros, available_micros, held_count, spent_micros
    FROM aeriox_reserve($1::uuid, $2::uuid, $3::uuid, $4::bigint, $5::bigint, $6::integer, $7::bigint)`;

export async function reserve(db: WalletDb, input: ReserveInput): Promise<HoldResult> {
  const { workspaceId, jobId, amountMicros } = input;
  if (amountMicros < 0n) throw new RangeError("reservation must not be negative");
  const { spendCap, maxHeld, monthlyBudget } = reserveCaps(input);
  const rows = await runStatement<ReserveOutcomeRow>(db, RESERVE_SQL, [workspaceId, jobId, input.apiKeyId ?? null, amountMicros, spendCap, maxHeld, monthlyBudget]);
  return reservationResult(rows[0]!, input);
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
  amount_micros: bigint;
  status: "held" | "captured" | "released";
  captured_micros: bigint | null;
}

/** The hold as it stands, after a settlement statement changed nothing. */
async function readHold(db: WalletDb, jobId: string): Promise<HoldRow> {
  const rows = await runStatement<HoldRow>(db, `SELECT amount_micros, status::text AS status, captured_micros FROM holds WHERE job_id = $1::uuid`, [jobId]);
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

// The wallet and ledger writes read `settled`, so they happen only for the hold this
// statement moved out of `held`: a concurrent or repeated settlement waits on the hold's
// row lock, then finds it settled and moves nothing. UNIQUE (job_id, kind) on the ledger
// stays the last line of defence against a second debit. The key's month row (budget) is
// updated from the wallet update's output: after it, so the lock order is hold → wallet →
// month row, as in aeriox_reserve (wallet → month row).
// The capture itself is one SQL function (migration 20261202200000_worker_complete_job), so the
// worker's one-statement completion (aeriox_complete_job) captures exactly as this does.
const CAPTURE_SQL = `SELECT amount_micros, captured_micros FROM aeriox_capture_hold($1::uuid, $2::bigint)`;

export async function capture(db: WalletDb, input: CaptureInput): Promise<Settlement> {
  const { jobId } = input;
  const actual = input.actualMicros ?? null;
  if (actual !== null && actual < 0n) throw new RangeError("actual cost must not be negative");
  const rows = await runStatement<{ amount_micros: bigint; captured_micros: bigint }>(db, CAPTURE_SQL, [jobId, actual]);
  const done = rows[0];
  if (!done) {
    const hold = await readHold(db, jobId);
    if (hold.status !== "held") return existingSettlement(jobId, hold);
    // Still held, so the CAS refused the amount: the estimate is the customer's ceiling;
    // charging more is a pricing bug, never silent.
    throw new ApiError(500, "capture_exceeds_hold", `Capture of ${actual} micros exceeds the ${hold.amount_micros} micros reserved for job ${jobId}`);
  }
  if (actual === null) {
    (input.logger ?? { warn: (o: object, m: string) => console.warn(m, o) }).warn({ jobId, heldMicros: String(done.amount_micros) }, "capture without an actual cost: settling at the reserved amount");
  }
  return { jobId, status: "captured", heldMicros: done.amount_micros, capturedMicros: done.captured_micros, alreadySettled: false };
}

const RELEASE_SQL = `
  WITH settled AS (
    UPDATE holds SET status = 'released', settled_at = now()
     WHERE job_id = $1::uuid AND status = 'held'
    RETURNING workspace_id, api_key_id, amount_micros, budget_month
  ), wallet AS (
    UPDATE wallets AS w
       SET reserved_micros = w.reserved_micros - s.amount_micros, held_count = w.held_count - 1, updated_at = now()
      FROM settled AS s WHERE w.workspace_id = s.workspace_id
    RETURNING s.api_key_id, s.budget_month, s.amount_micros
  ), budget AS (
    UPDATE api_key_monthly_spend AS m SET spent_micros = m.spent_micros - wallet.amount_micros
      FROM wallet WHERE m.api_key_id = wallet.api_key_id AND m.month = wallet.budget_month AND wallet.amount_micros > 0
  )
  SELECT amount_micros FROM settled`;

export async function release(db: WalletDb, input: { jobId: string }): Promise<Settlement> {
  const { jobId } = input;
  const rows = await runStatement<{ amount_micros: bigint }>(db, RELEASE_SQL, [jobId]);
  if (!rows[0]) return existingSettlement(jobId, await readHold(db, jobId));
  return { jobId, status: "released", heldMicros: rows[0].amount_micros, capturedMicros: 0n, alreadySettled: false };
}

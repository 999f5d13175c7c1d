/**
 * Accepting a job: safety checks, then ONE statement that creates the job row and
 * reserves its estimated cost with every check atomic (in-flight cap, daily spend cap,
 * monthly key budget, balance: ARCHITECTURE.md, Money, "Hot path"), then the enqueue. The
 * key's model allow-list is checked before, from the principal (no round trip). A queue that is
 * down undoes the reservation (the job fails with `queue_unavailable`, refunded); an accept whose
 * answer was lost with the database connection is settled after the fact (in-doubt.ts).
 */
import { randomUUID } from "node:crypto";
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import type { Principal } from "../auth/principal.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import type { Database, Job, JobType as DbJobType } from "../db/index.ts";
import { observeReservation } from "../observability/index.ts";
import { reservationResult, reserveCaps, type ReserveInput, type ReserveOutcomeRow } from "../wallet/holds.ts";
import { triggerAutoRecharge } from "../wallet/auto-recharge.ts";
import { endJobWithRefund } from "./settle.ts";
import { jobError, type JobType } from "./states.ts";
import { currentJobWebhook } from "../webhooks/request.ts";
import { ensureSigningSecret } from "../webhooks/endpoints.ts";
import { createAcceptBatcher } from "./accept-batch.ts";
import { settleInDoubtAccept } from "./in-doubt.ts";
import { isDatabaseUnavailable } from "../db/unavailable.ts";

export type SubmitServices = Pick<Runtime, "db" | "config" | "providers" | "queue" | "logger">;

export interface SubmitJobRequest {
  principal: Principal;
  type: JobType;
  entry: CatalogEntry;
  /** What the provider receives: the validated body plus resolved extras. */
  input: Record<string, unknown>;
  priceMicros: bigint;
  /** The model as the caller named it (null for compose). */
  model: string | null;
  prismId?: string | null;
  characterId?: string | null;
}

/** 422 `prompt_blocked` before anything is reserved. Matches whole words, case-insensitively. */
export function assertPromptAllowed(config: Pick<Runtime["config"], "PROMPT_BLOCKLIST">, texts: Array<string | undefined | null>): void {
  const terms = config.PROMPT_BLOCKLIST ?? [];
  if (terms.length === 0) return;
  for (const text of texts) {
    if (!text) continue;
    const lower = text.toLowerCase();
    const hit = terms.find((term) => new RegExp(`(^|[^\\p{L}\\p{N}])${term.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\p{L}\\p{N}])`, "u").test(lower));
    if (hit) throw new ApiError(422, "prompt_blocked", "The prompt contains a blocked term", { term: hit });
  }
}

/**
 * 503 before anything is reserved when the entry's provider cannot run here: no
 * credentials on this deployment (`provider_not_configured`), or its breaker is open.
 */
export function assertProviderUsable(services: Pick<Runtime, "providers">, entry: CatalogEntry): void {
  const unavailable = services.providers.unavailableReason(entry.provider);
  if (unavailable) {
    throw ApiError.unavailable("provider_not_configured", `Model ${entry.model} is unavailable on this server: ${unavailable}`, { provider: entry.provider, model: entry.model });
  }
  if (services.providers.isCircuitOpen(entry.provider)) {
    throw ApiError.unavailable("circuit_open", `Provider ${entry.provider} is failing repeatedly; try again shortly`, { provider: entry.provider });
  }
}

// One round trip: `aeriox_accept_job` (migration 20261201000000_hot_path_accept, with the key's
// monthly budget since 20261201600000_key_budgets) locks the wallet, runs every check, and
// inserts hold and job only when all pass. Concurrent submits to one workspace share a
// statement and a commit (accept-batch.ts).
const ACCEPT_CASTS = ["uuid", "uuid", "uuid", "job_type", "text", "text", "text", "jsonb", "bigint", "text", "uuid", "timestamptz", "bigint", "integer", "bigint"] as const;
const ACCEPT_COLUMNS = ["outcome", "held_micros", "available_micros", "held_count", "spent_micros", "created_at"] as const;
export const ACCEPT_SQL = `
  SELECT ${ACCEPT_COLUMNS.join(", ")}
    FROM aeriox_accept_job(${ACCEPT_CASTS.map((cast, i) => `$${i + 1}::${cast}`).join(", ")})`;
const acceptBatcher = createAcceptBatcher<ReserveOutcomeRow & { created_at: Date | null }>({
  fn: "aeriox_accept_job",
  casts: ACCEPT_CASTS,
  columns: ACCEPT_COLUMNS,
  singleSql: ACCEPT_SQL,
  lockOrder: (params) => String(params[1]), // the workspace: its wallet row is what the statement locks
});

/**
 * Accept lanes per process: a workspace always uses the same one (its id's last 16 bits; ids
 * are random), so its submits keep their order, and submits to different workspaces of a lane
 * share statements and commits too — with many workspaces each sending a few, one per
 * workspace would pay a commit each. More than one lane, so a statement waiting on one wallet
 * row delays only the workspaces of its lane.
 */
const ACCEPT_LANES = 4;
const acceptLaneOf = (workspaceId: string) => `lane-${parseInt(workspaceId.slice(-4), 16) % ACCEPT_LANES}`;

/** Creates the job row and its reservation in one statement; throws the refusing check's error (402/429) and writes nothing then. */
async function acceptJob(db: Database, config: SubmitServices["config"], jobId: string, req: SubmitJobRequest): Promise<Job> {
  const reservation: ReserveInput = {
    workspaceId: req.principal.workspaceId,
    jobId,
    amountMicros: req.priceMicros,
    apiKeyId: req.principal.apiKeyId,
    dailySpendCapMicros: req.principal.dailySpendCapMicros,
    monthlyBudgetMicros: req.principal.monthlyBudgetMicros ?? null,
    maxInFlight: config.MAX_INFLIGHT_JOBS_PER_WORKSPACE,
  };
  if (req.priceMicros < 0n) throw new RangeError("reservation must not be negative");
  const { spendCap, maxHeld, monthlyBudget } = reserveCaps(reservation);
  // Stored as JSON text, read back as the row would be (undefined members dropped).
  const inputJson = JSON.stringify(req.input);
  const deadlineAt = new Date(Date.now() + config.JOB_DEADLINE_SECONDS * 1000);
  const fields = {
    workspaceId: req.principal.workspaceId,
    apiKeyId: req.principal.apiKeyId ?? null,
    type: req.type as DbJobType,
    model: req.model,
    operationId: req.entry.operationId,
    provider: req.entry.provider,
    prismId: req.prismId ?? null,
    characterId: req.characterId ?? null,
  };
  const rows = await acceptBatcher.run(db, acceptLaneOf(fields.workspaceId), [
    jobId,
    fields.workspaceId,
    fields.apiKeyId,
    fields.type,
    fields.model,
    fields.operationId,
    fields.provider,
    inputJson,
    req.priceMicros,
    fields.prismId,
    fields.characterId,
    deadlineAt,
    spendCap,
    maxHeld,
    monthlyBudget,
  ]);
  const row = rows[0]!;
  reservationResult(row, reservation); // throws unless reserved
  const createdAt = row.created_at!;
  // The row as the database now holds it (column defaults included), as job.create returned it.
  return {
    id: jobId,
    ...fields,
    status: "queued",
    input: JSON.parse(inputJson) as Job["input"],
    estimatedCostMicros: req.priceMicros,
    chargedCostMicros: null,
    progressPct: null,
    providerRequestId: null,
    submitStartedAt: null,
    attempts: 0,
    nextAttemptAt: null,
    error: null,
    outputAssetIds: [],
    deadlineAt,
    startedAt: null,
    completedAt: null,
    durationMs: null,
    createdAt,
    updatedAt: createdAt,
  };
}

/**
 * 403 `model_not_allowed` before anything is reserved when the key has an allow-list of models
 * (`allowed_models`) that lacks the model the job would run (the catalog entry priced and
 * dispatched: a character's LoRA endpoint, the prism or compose operation's model).
 */
export function assertModelAllowed(principal: Principal, entry: CatalogEntry): void {
  const allowed = principal.allowedModels;
  if (!allowed || allowed.length === 0 || allowed.includes(entry.model)) return;
  throw ApiError.forbidden("model_not_allowed", `This API key may not use model ${entry.model}`, { model: entry.model, allowed_models: allowed });
}

export async function submitJob(services: SubmitServices, req: SubmitJobRequest) {
  assertModelAllowed(req.principal, req.entry);
  assertProviderUsable(services, req.entry);
  const { config, db } = services;
  const jobId = randomUUID();
  let job: Job;
  try {
    job = await acceptJob(db, config, jobId, req);
  } catch (err) {
    // The connection died under the statement: it may have committed (in-doubt.ts). The client
    // gets 503; the job, if it exists, is ended and refunded once the database answers.
    if (isDatabaseUnavailable(err)) settleInDoubtAccept(db, jobId, services.logger);
    throw err;
  }
  observeReservation(db, job); // metrics: one hold placed
  triggerAutoRecharge(services, req.principal.workspaceId); // fire-and-forget: never fails the submit

  // The request's webhook_url (webhooks/request.ts) is stored before the job can run, so no event is missed.
  const hook = currentJobWebhook();
  if (hook) {
    try {
      await db.prisma.jobWebhook.create({ data: { jobId, workspaceId: job.workspaceId, url: hook.url, events: hook.events } });
      await ensureSigningSecret(db, job.workspaceId);
    } catch (err) {
      await endJobWithRefund(db, job.id, "failed", jobError("internal_error", "The job's webhook could not be stored; the reservation was refunded")).catch(() => undefined);
      throw err;
    }
  }

  try {
    await services.queue.enqueue({ id: job.id, provider: job.provider, workspaceId: job.workspaceId });
  } catch (err) {
    services.logger.error({ err, jobId }, "enqueue failed; refunding");
    await endJobWithRefund(db, job.id, "failed", jobError("queue_unavailable", "The job queue is unavailable; the reservation was refunded"));
    throw ApiError.unavailable("queue_unavailable", "The job queue is unavailable; nothing was charged. Try again shortly.");
  }
  return job;
}

/**
 * Characters (Souls): create + train, list (cursor-paginated), get, soft delete.
 *
 * Atomicity of character + training job. submitJob owns its one transaction (job row +
 * reservation) and we do not widen it, so the character row is written FIRST (status
 * `training`, id chosen here) and the job is submitted with that `character_id`; when
 * submitJob throws (402 insufficient_funds / spend cap, 429, 503 circuit or queue) the
 * character row is hard-deleted before the error propagates, so a refused request leaves
 * nothing behind. The only window is a process crash between the two steps: it leaves a
 * `training` row with no job_id, which `repairOrphans` (called by list/get) marks `failed`
 * after ORPHAN_GRACE_MS; no money is involved (nothing was reserved). The job's
 * completion (applyTerminalSideEffects, same transaction as the settlement) moves the
 * character to `ready`/`failed`, keyed by the job's character_id, so it does not matter
 * whether the runner finishes before we record job_id on the character.
 */
import { randomUUID } from "node:crypto";
import type { Runtime } from "../runtime.ts";
import type { Principal } from "../auth/principal.ts";
import { ApiError } from "../errors.ts";
import type { Character, Database } from "../db/index.ts";
import { submitJob } from "../jobs/submit.ts";
import { decodeCursor, encodeCursor, pageLimit } from "../db/cursor.ts";
import { priceFor } from "../pricing/estimate.ts";
import type { TrainingInput } from "./train.ts";

/** fal.ai LoRA training (`fal-ai/flux-lora-fast-training`), priced at fal's rate: deployments with FAL_KEY. */
export const TRAIN_OPERATION = "char.train_soul";
/** The offline trainer (palette + composition for local/image), priced as the local operation it is. */
export const LOCAL_TRAIN_OPERATION = "char.train_local";
const ORPHAN_GRACE_MS = 5 * 60_000;

type Services = Pick<Runtime, "db" | "config" | "catalog" | "providers" | "queue" | "logger">;

export interface CreateCharacterBody {
  name: string;
  image_urls: string[];
  attributes?: Record<string, unknown>;
  /** Audio to clone an ElevenLabs voice from (1–3). */
  voice_sample_urls?: string[];
  /** An existing ElevenLabs voice for this character. */
  voice_id?: string;
}

/** Which trainer a deployment uses: fal's when it has a fal key, else the local one. */
export function trainingOperationFor(config: Pick<Runtime["config"], "FAL_KEY">): string {
  return config.FAL_KEY ? TRAIN_OPERATION : LOCAL_TRAIN_OPERATION;
}

export async function createCharacter(services: Services, principal: Principal, body: CreateCharacterBody) {
  const operation = trainingOperationFor(services.config);
  const entry = services.catalog.byOperation(operation);
  if (!entry) throw ApiError.unavailable("pricing_unavailable", `The catalog has no ${operation} operation`);
  // Voices are ElevenLabs voices: without ElevenLabs a voice could be neither cloned nor checked,
  // so the fields are refused rather than accepted and ignored (local/tts voices need neither).
  if (body.voice_sample_urls !== undefined && body.voice_id !== undefined) {
    throw ApiError.badRequest("invalid_request", "Give voice_sample_urls (to clone a voice) or voice_id (an existing voice), not both", {
      fields: [
        { field: "body.voice_sample_urls", message: "cannot be combined with voice_id" },
        { field: "body.voice_id", message: "cannot be combined with voice_sample_urls" },
      ],
    });
  }
  const voiceField = body.voice_sample_urls !== undefined ? "body.voice_sample_urls" : body.voice_id !== undefined ? "body.voice_id" : null;
  if (voiceField && !services.config.ELEVENLABS_API_KEY) {
    throw ApiError.badRequest("voice_provider_not_configured", "Character voices are ElevenLabs voices and this server has no ELEVENLABS_API_KEY; local/tts gives every character its own voice without one", {
      field: voiceField,
    });
  }
  const id = randomUUID();
  const attributes = body.attributes ?? {};
  await services.db.prisma.character.create({
    data: { id, workspaceId: principal.workspaceId, name: body.name, status: "training", imageUrls: body.image_urls, attributes: attributes as object },
  });
  let job;
  try {
    const input: TrainingInput = {
      character_id: id,
      name: body.name,
      image_urls: body.image_urls,
      attributes,
      ...(body.voice_id !== undefined ? { voice_id: body.voice_id, voice_source: "supplied" as const } : {}),
      ...(body.voice_sample_urls !== undefined ? { voice_sample_urls: body.voice_sample_urls } : {}),
    };
    const record = input as unknown as Record<string, unknown>;
    job = await submitJob(services, { principal, type: "character_train", entry, input: record, priceMicros: priceFor(entry, record), model: entry.model, characterId: id });
  } catch (err) {
    // Refused (402/429/503...) or enqueue failed: leave no character behind.
    await services.db.prisma.character.deleteMany({ where: { id, workspaceId: principal.workspaceId } }).catch(() => undefined);
    throw err;
  }
  await services.db.prisma.character.updateMany({ where: { id }, data: { jobId: job.id } });
  return { job, characterId: id };
}

/**
 * Records a voice cloned by a running training job in the job's input, where its completion
 * (jobs/side-effects.ts) takes the character's voice_id from. It also makes a retried attempt
 * reuse the voice instead of cloning a second one. Only the running attempt writes here.
 */
export async function recordTrainingVoice(db: Pick<Database, "prisma">, jobId: string, voiceId: string): Promise<void> {
  const job = await db.prisma.job.findUnique({ where: { id: jobId }, select: { input: true, type: true } });
  if (!job || job.type !== "character_train") throw new Error(`Job ${jobId} is not a training job`);
  const input = { ...(job.input as Record<string, unknown>), voice_id: voiceId, voice_source: "cloned" };
  const { count } = await db.prisma.job.updateMany({ where: { id: jobId, status: "running" }, data: { input, updatedAt: new Date() } });
  if (count === 0) throw new Error(`Job ${jobId} is no longer running`);
}

/** A crash between the character insert and submitJob leaves a job-less `training` row: fail it. */
async function repairOrphans(services: Pick<Runtime, "db">, workspaceId: string): Promise<void> {
  await services.db.prisma.character.updateMany({
    where: { workspaceId, status: "training", jobId: null, deletedAt: null, createdAt: { lt: new Date(Date.now() - ORPHAN_GRACE_MS) } },
    data: { status: "failed" },
  });
}

export async function findWorkspaceCharacter(services: Pick<Runtime, "db">, workspaceId: string, id: string): Promise<Character> {
  await repairOrphans(services, workspaceId);
  const character = await services.db.prisma.character.findFirst({ where: { id, workspaceId, deletedAt: null } });
  if (!character) throw ApiError.notFound("Character");
  return character;
}

export async function softDeleteCharacter(services: Pick<Runtime, "db">, workspaceId: string, id: string): Promise<void> {
  const { count } = await services.db.prisma.character.updateMany({ where: { id, workspaceId, deletedAt: null }, data: { deletedAt: new Date() } });
  if (count === 0) throw ApiError.notFound("Character");
}

// ── cursor pagination: opaque base64url of [created_at ISO, id], newest first (db/cursor.ts) ──

export { decodeCursor, encodeCursor } from "../db/cursor.ts";

export async function listCharacters(services: Pick<Runtime, "db">, workspaceId: string, query: { limit?: number | undefined; cursor?: string | undefined }) {
  const limit = pageLimit(query.limit);
  const after = query.cursor !== undefined ? decodeCursor(query.cursor) : null;
  await repairOrphans(services, workspaceId);
  const rows = await services.db.prisma.character.findMany({
    where: {
      workspaceId,
      deletedAt: null,
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
  const page = rows.slice(0, limit);
  return { characters: page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null };
}

/** The spec's Character body, plus `lora_url` and `job_id` (extra, informative). */
export function toCharacterBody(c: Character) {
  return {
    id: c.id,
    name: c.name,
    status: c.status,
    image_urls: c.imageUrls,
    attributes: (c.attributes ?? {}) as Record<string, unknown>,
    voice_id: c.voiceId,
    lora_url: c.loraUrl,
    job_id: c.jobId,
    created_at: c.createdAt.toISOString(),
  };
}

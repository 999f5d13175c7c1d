/**
 * Resolving a request's `character_id` / `character_voice_id` to what providers need.
 *
 * A ready character's `lora_url` is `aeriox-asset://<artifact>` (characters/lora-ref.ts): the
 * training artifact says which trainer made it, the style (palette + composition) every trainer
 * learns, and, for fal's trainer, the LoRA weights' URL. Per model:
 * - local/image: rendered through the character's palette and composition (`character_style`).
 * - fal image models: the character's fal LoRA, on fal's LoRA endpoint (`fal-ai/flux-lora`, whose
 *   catalog entry prices the job). A character trained offline has no weights fal could load:
 *   400 `character_not_trained_for_model` rather than a generation that ignores the character.
 * - video models take no character yet: 400 rather than accepting and ignoring it.
 */
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import type { Character } from "../db/index.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { assetIdOfLoraUrl } from "../characters/lora-ref.ts";
import { ARTIFACT_FORMAT, type FalLora } from "../characters/train.ts";
import { readWorkspaceAsset } from "../assets/assets.ts";

export const FAL_LORA_MODEL = "fal-ai/flux-lora";

export async function readyCharacter(services: Pick<Runtime, "db">, workspaceId: string, characterId: string, field: string) {
  const character = await services.db.prisma.character.findFirst({ where: { id: characterId, workspaceId, deletedAt: null } });
  if (!character) throw ApiError.badRequest("character_not_found", `Character ${characterId} does not exist in this workspace`, { field });
  if (character.status !== "ready") {
    throw ApiError.badRequest("character_not_ready", `Character ${characterId} is ${character.status}, not ready`, { field, status: character.status });
  }
  return character;
}

/** What generation uses from a training artifact (older artifacts lack palette/trainer: their average colour stands in). */
export interface CharacterTraining {
  trainer: "local" | "fal";
  triggerWord: string | null;
  key: string;
  palette: Array<[number, number, number]>;
  center: [number, number];
  lora: FalLora | null;
}

export async function characterTraining(services: Pick<Runtime, "db" | "storage">, workspaceId: string, character: Character, field: string): Promise<CharacterTraining> {
  const assetId = character.loraUrl ? assetIdOfLoraUrl(character.loraUrl) : null;
  const untrained = () => ApiError.badRequest("character_not_trained", `Character ${character.id} has no training artifact`, { field });
  if (!assetId) throw untrained();
  let parsed: Record<string, unknown>;
  try {
    const { bytes } = await readWorkspaceAsset(services, workspaceId, assetId);
    parsed = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    throw untrained();
  }
  if (parsed.format !== ARTIFACT_FORMAT) throw untrained();
  const rgb = (v: unknown): v is [number, number, number] => Array.isArray(v) && v.length === 3 && v.every((c) => typeof c === "number");
  const palette = Array.isArray(parsed.palette) ? parsed.palette.filter(rgb) : rgb(parsed.mean_rgb) ? [parsed.mean_rgb] : [];
  const center = (parsed.composition as { center?: unknown } | undefined)?.center;
  const lora = parsed.lora as FalLora | null | undefined;
  return {
    trainer: parsed.trainer === "fal" ? "fal" : "local",
    triggerWord: typeof parsed.trigger_word === "string" ? parsed.trigger_word : null,
    key: typeof parsed.fingerprint === "string" ? parsed.fingerprint : character.id,
    palette,
    center: Array.isArray(center) && center.length === 2 && center.every((c) => typeof c === "number") ? (center as [number, number]) : [0.5, 0.5],
    lora: lora && typeof lora.url === "string" && lora.url.startsWith("https://") ? lora : null,
  };
}

/**
 * The entry that will run a visual request with a character, and the job input it adds.
 * Throws 400 for a model the character cannot condition.
 */
export async function conditionVisual(
  services: Pick<Runtime, "db" | "storage" | "catalog">,
  workspaceId: string,
  character: Character,
  entry: CatalogEntry,
  field: string,
): Promise<{ entry: CatalogEntry; input: Record<string, unknown> }> {
  const notFor = (why: string) => ApiError.badRequest("character_not_trained_for_model", `Character ${character.id} cannot condition ${entry.model}: ${why}`, { field, model: entry.model });
  if (entry.kind !== "image") throw notFor("no video model takes a character yet");
  const training = await characterTraining(services, workspaceId, character, field);
  if (entry.provider === "local") {
    return { entry, input: { character_style: { palette: training.palette, center: training.center, key: training.key } } };
  }
  if (entry.provider === "fal") {
    if (!training.lora) throw notFor(`it was trained by the ${training.trainer} trainer, which makes no LoRA weights fal.ai can load (its palette conditions local/image)`);
    const loraEntry = services.catalog.byModel(FAL_LORA_MODEL);
    if (!loraEntry || loraEntry.provider !== "fal" || loraEntry.kind !== "image") {
      throw ApiError.unavailable("pricing_unavailable", `The catalog has no ${FAL_LORA_MODEL} image model to run the character's LoRA`);
    }
    return { entry: loraEntry, input: { lora_url: training.lora.url, ...(training.triggerWord ? { lora_trigger: training.triggerWord } : {}) } };
  }
  throw notFor(`${entry.provider} models take no character`);
}

/** ElevenLabs voice ids the old offline trainer made up (`voice_` + 16 hex): no provider knows them. */
const SYNTHETIC_VOICE = /^voice_[0-9a-f]{16}$/;

export function providerVoiceOf(character: Character): string | null {
  return character.voiceId && !SYNTHETIC_VOICE.test(character.voiceId) ? character.voiceId : null;
}

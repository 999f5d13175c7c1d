/**
 * `POST /v1/prisms/{id}/apply`. Every application is ONE `prism_apply` job (so the
 * Job body carries `prism_id`, as the spec says "present only when type=prism_apply"),
 * run by the "aeriox" provider adapter:
 *
 * - `asset_id`: an offline transform of a stored workspace asset (pngjs / ffmpeg) into a
 *   new asset; priced at `prism.apply`.
 * - `image_params` / `video_params`: the recipe rewrites the params (prompt prefix/suffix,
 *   negative prompt, default parameters), the adapter delegates the generation to the
 *   underlying model's provider and then applies the recipe's offline transform to PNG
 *   outputs; priced at `prism.apply` + the underlying generation's price, reserved
 *   together in the one submitJob transaction. The job's `model` is the underlying model.
 *   The underlying catalog entry is snapshotted into the job input so the adapter bills
 *   and runs exactly what was priced.
 */
import type { Principal } from "../auth/principal.ts";
import { ApiError } from "../errors.ts";
import { assertPromptAllowed, assertProviderUsable, submitJob } from "../jobs/submit.ts";
import { serializeEntry } from "./entry.ts";
import { priceFor } from "../pricing/estimate.ts";
import { resolveModel } from "../generation/models.ts";
import { readyCharacter } from "../generation/characters-ref.ts";
import { assertInputsSupported } from "../generation/capabilities.ts";
import type { GenerationServices, ImageRequest, VideoRequest } from "../generation/submit.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { findPrism, requirePrism, type PrismDefinition, type PrismMedia } from "./catalog.ts";

export const PRISM_OPERATION = "prism.apply";

export interface ApplyPrismBody {
  asset_id?: string;
  image_params?: ImageRequest;
  video_params?: VideoRequest;
}

/** Params keys a recipe may default, per media (only keys the request schema has). */
const DEFAULTABLE: Record<"image" | "video", string[]> = { image: ["aspect_ratio", "resolution", "seed"], video: ["duration_s", "with_audio"] };

/** The recipe applied to generation params (pure; also usable by generate endpoints). */
export function applyRecipe<T extends ImageRequest | VideoRequest>(prism: PrismDefinition, media: "image" | "video", params: T): T {
  const r = prism.recipe;
  const prompt = [r.prompt_prefix?.trim(), params.prompt.trim()].filter(Boolean).join(" ") + (r.prompt_suffix ?? "");
  const out: Record<string, unknown> = { ...params, prompt, prism_id: prism.id };
  // With a seed image the output takes the seed's size: the recipe's size defaults would only be refused.
  const sizeFromSeed = media === "image" && typeof (params as ImageRequest).seed_image_url === "string";
  for (const key of DEFAULTABLE[media]) {
    if (sizeFromSeed && (key === "aspect_ratio" || key === "resolution")) continue;
    if (out[key] === undefined && r.parameters?.[key] !== undefined) out[key] = r.parameters[key];
  }
  if (media === "image" && r.negative_prompt) {
    const own = (params as ImageRequest).negative_prompt;
    out.negative_prompt = own ? `${own}, ${r.negative_prompt}` : r.negative_prompt;
  }
  return out as T;
}

/**
 * A prism's negative fragment is a hint of its recipe, not the caller's input. On a model that
 * takes no negative prompt (FLUX on fal, local/image: catalog `accepts_negative_prompt`) it is
 * dropped, so the job records, and the provider gets, only what is sent; the prism still applies
 * its prompt, defaults and transform. Refusing the prism instead would make every prism with a
 * negative fragment unusable on those models for a part the caller never wrote. A
 * `negative_prompt` the caller did write is kept, and refused there like any unsupported field
 * (400 `unsupported_parameter`, generation/capabilities.ts).
 */
export function fitPrismNegative(entry: CatalogEntry, input: Record<string, unknown>, own: string | undefined): Record<string, unknown> {
  if (entry.acceptsNegativePrompt || input.negative_prompt === undefined) return input;
  const { negative_prompt: _recipe, ...rest } = input;
  return own === undefined ? rest : { ...rest, negative_prompt: own };
}

/**
 * A prism's defaults are hints of its recipe, dropped (like its negative fragment) where the model
 * would refuse them: its size and seed (`aspect_ratio`, `resolution`, `seed`) for a model that
 * returns one fixed output (catalog `fixed_output`: local/echo), and its `duration_s` for a model
 * that does not make that duration (catalog `durations_s`: Kling 2.1 makes 5 or 10 s; the model's
 * default is then used). What the caller wrote in `own` is kept, and refused there (400
 * `unsupported_parameter`, generation/capabilities.ts).
 */
export function fitPrismDefaults(entry: CatalogEntry, input: Record<string, unknown>, own: object): Record<string, unknown> {
  const given = own as Record<string, unknown>;
  const out = { ...input };
  if (entry.kind === "image" && entry.fixedOutput) {
    for (const key of DEFAULTABLE.image) if (given[key] === undefined) delete out[key];
  }
  const allowed = entry.kind === "video" ? (entry.durationsS ?? []) : [];
  if (allowed.length && given.duration_s === undefined && out.duration_s !== undefined && !allowed.includes(out.duration_s as number)) delete out.duration_s;
  return out;
}

function mediaOfContentType(contentType: string): PrismMedia | null {
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  if (t.startsWith("image/")) return "image";
  if (t.startsWith("video/")) return "video";
  if (t.startsWith("audio/")) return "audio";
  return null;
}

function incompatible(prism: PrismDefinition, media: string, field: string): ApiError {
  return ApiError.badRequest("prism_incompatible", `Prism ${prism.id} works with ${prism.compatible_with.join(", ")}, not ${media}`, {
    field,
    prism_id: prism.id,
    media,
    compatible_with: prism.compatible_with,
  });
}

export async function submitPrismApply(services: GenerationServices, principal: Principal, prismId: string, body: ApplyPrismBody) {
  const prism = requirePrism(prismId);
  const given = (["asset_id", "image_params", "video_params"] as const).filter((k) => body[k] !== undefined && body[k] !== null);
  if (given.length !== 1) {
    const fields = (given.length === 0 ? ["asset_id", "image_params", "video_params"] : given).map((f) => `body.${f}`);
    throw ApiError.badRequest(
      "invalid_request",
      given.length === 0 ? "Provide exactly one of asset_id, image_params, video_params (none given)" : `Provide exactly one of asset_id, image_params, video_params (got ${given.join(", ")})`,
      { fields, field: fields[0]! },
    );
  }
  const prismEntry = services.catalog.byOperation(PRISM_OPERATION);
  if (!prismEntry) throw ApiError.unavailable("pricing_unavailable", `The catalog has no ${PRISM_OPERATION} operation`);
  const prismPrice = priceFor(prismEntry, {});

  if (body.asset_id !== undefined) {
    const asset = await services.db.prisma.asset.findFirst({ where: { id: body.asset_id, workspaceId: principal.workspaceId }, select: { id: true, contentType: true } });
    if (!asset) throw ApiError.badRequest("asset_not_found", `Asset ${body.asset_id} does not exist in this workspace`, { field: "body.asset_id" });
    const media = mediaOfContentType(asset.contentType);
    if (!media || !prism.compatible_with.includes(media)) throw incompatible(prism, media ?? asset.contentType, "body.asset_id");
    const input = { mode: "asset", prism_id: prism.id, asset_id: asset.id, media };
    return submitJob(services, { principal, type: "prism_apply", entry: prismEntry, input, priceMicros: prismPrice, model: prismEntry.model, prismId: prism.id });
  }

  const media = body.image_params !== undefined ? "image" : "video";
  const field = `body.${media}_params`;
  if (!prism.compatible_with.includes(media)) throw incompatible(prism, media, field);
  const params = applyRecipe(prism, media, (body.image_params ?? body.video_params)!);
  const entry = resolveModel(services.catalog, params.model, media);
  assertPromptAllowed(services.config, [params.prompt, (params as ImageRequest).negative_prompt]);
  assertProviderUsable(services, entry);
  let genInput: Record<string, unknown> = { ...params };
  if (media === "image") genInput = fitPrismNegative(entry, genInput, body.image_params?.negative_prompt);
  genInput = fitPrismDefaults(entry, genInput, (body.image_params ?? body.video_params)!);
  if (params.character_id) {
    const character = await readyCharacter(services, principal.workspaceId, params.character_id, `${field}.character_id`);
    if (character.loraUrl) genInput.lora_url = character.loraUrl;
  }
  assertInputsSupported(entry, genInput, field);
  const genPrice = priceFor(entry, genInput);
  const input = { mode: "generate", prism_id: prism.id, media, params: genInput, delegate: serializeEntry(entry), prism_price_micros: prismPrice.toString() };
  return submitJob(services, {
    principal,
    type: "prism_apply",
    entry: prismEntry,
    input,
    priceMicros: prismPrice + genPrice,
    model: params.model,
    prismId: prism.id,
    characterId: params.character_id ?? null,
  });
}

/**
 * `prism_id` on `POST /v1/images|videos/generate`: the recipe rewrites the params (no
 * offline transform, no extra charge; the job stays type image/video). Unknown → 400
 * `prism_not_found`, wrong media → 400 `prism_incompatible`, both naming body.prism_id.
 */
export function withPrismRecipe<T extends ImageRequest | VideoRequest>(media: "image" | "video", params: T): T {
  if (!params.prism_id) return params;
  const prism = findPrism(params.prism_id);
  if (!prism) throw ApiError.badRequest("prism_not_found", `Prism ${params.prism_id} does not exist`, { field: "body.prism_id" });
  if (!prism.compatible_with.includes(media)) throw incompatible(prism, media, "body.prism_id");
  return applyRecipe(prism, media, params);
}

/**
 * A prism's recipe applied to generation params (pure): used by `POST /v1/prisms/{id}/apply`
 * (apply.ts), by `prism_id` on the generate endpoints (generation/submit.ts) and by the previews.
 * It imports nothing that submits, so submitting a generation and applying a prism never import
 * each other.
 */
import { ApiError } from "../errors.ts";
import type { ImageRequest, VideoRequest } from "../generation/requests.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { findPrism, type PrismDefinition } from "./catalog.ts";

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

/** 400 `prism_incompatible`: the prism does not work with this media. */
export function incompatible(prism: PrismDefinition, media: string, field: string): ApiError {
  return ApiError.badRequest("prism_incompatible", `Prism ${prism.id} works with ${prism.compatible_with.join(", ")}, not ${media}`, {
    field,
    prism_id: prism.id,
    media,
    compatible_with: prism.compatible_with,
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

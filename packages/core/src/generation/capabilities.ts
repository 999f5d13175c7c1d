/**
 * "Each documented field works or is refused": the request fields a model may not be able to
 * honour are checked here against its catalog entry, before anything is priced or reserved.
 * A field the model cannot honour is 400 `unsupported_parameter` naming the field and the model
 * (never accepted and dropped). The capabilities themselves are catalog data, all shown by
 * `GET /v1/models`: `accepts_seed_image`, `accepts_loras` (image), `accepts_image_url`,
 * `requires_image_url`, `motion_ids`, `aspect_ratios`, `accepts_resolution` (video),
 * `accepts_negative_prompt` (both), `fixed_output` (image: resolution, aspect_ratio, seed and
 * character_id refused), `durations_s` (video; checked with the price, pricing/estimate.ts). An
 * input a model cannot run without (`image_url` of an image-to-video-only endpoint) is 400
 * `invalid_request` naming the field and the model, as a missing required field is.
 * `loras` reach a video model only through the deprecated POST /v1/generate (GenerateVideoRequest
 * has no such field), and are always refused there.
 */
import { ApiError } from "../errors.ts";
import { parseResolution } from "../media/sizes.ts";
import { assertDurationAllowed, boundedResolution } from "../pricing/estimate.ts";
import { MOTION_IDS, type CatalogEntry } from "../pricing/catalog.ts";

/** The fields a `fixed_output` image model (local/echo) refuses. */
export const FIXED_OUTPUT_REFUSES = ["resolution", "aspect_ratio", "seed", "character_id"] as const;

export function unsupported(field: string, entry: CatalogEntry, why: string, extra: Record<string, unknown> = {}): ApiError {
  return ApiError.badRequest("unsupported_parameter", `Model ${entry.model} does not support ${field.replace(/^body\./, "")}: ${why}`, { field, model: entry.model, ...extra });
}

/** 400 `invalid_request` for an input the model cannot run without, shaped like a validation error (`details.fields`). */
export function missingInput(field: string, entry: CatalogEntry, why: string): ApiError {
  const name = field.replace(/^body\./, "");
  return ApiError.badRequest("invalid_request", `Model ${entry.model} needs ${name}: ${why}`, {
    field,
    model: entry.model,
    fields: [{ field, message: `is required for model ${entry.model}` }],
  });
}

/**
 * Throws 400 for a field of an image or video request the entry cannot honour. `prefix` names
 * where the params sit (`body` for generate, `body.image_params` for a prism).
 */
export function assertInputsSupported(entry: CatalogEntry, input: Record<string, unknown>, prefix = "body"): void {
  const f = (name: string) => `${prefix}.${name}`;
  if ((entry.kind === "image" || entry.kind === "video") && input.negative_prompt !== undefined && !entry.acceptsNegativePrompt) {
    throw unsupported(f("negative_prompt"), entry, entry.provider === "local" ? "its output follows the prompt only" : "the model takes no negative prompt");
  }
  if (entry.kind === "image") {
    // A diagnostic model returning one fixed output (local/echo) honours no size, seed or character.
    if (entry.fixedOutput) {
      for (const key of FIXED_OUTPUT_REFUSES) {
        if (input[key] !== undefined) throw unsupported(f(key), entry, "it returns one fixed output whatever is asked");
      }
    }
    if (typeof input.seed_image_url === "string") {
      if (!entry.acceptsSeedImage) throw unsupported(f("seed_image_url"), entry, "it has no image-to-image mode");
      // fal's image-to-image endpoints make the output at the seed image's size: a size cannot be honoured.
      if (entry.provider === "fal") {
        for (const key of ["resolution", "aspect_ratio"] as const) {
          if (input[key] !== undefined) throw unsupported(f(key), entry, "with seed_image_url the output takes the seed image's size");
        }
      }
    }
    if (input.resolution !== undefined && !parseResolution(input.resolution)) {
      throw ApiError.badRequest("invalid_resolution", `resolution ${String(input.resolution)} is not "WIDTHxHEIGHT" or a named size such as "1080p"`, { field: f("resolution") });
    }
    // An empty list asks for nothing; LoRAs are loaded only by an entry that takes them (fal-ai/flux-lora).
    if (hasLoras(input) && !entry.acceptsLoras) throw unsupported(f("loras"), entry, "it loads no LoRA weights (fal-ai/flux-lora does)");
  }
  if (entry.kind === "video") {
    if (typeof input.image_url === "string" && !entry.acceptsImageUrl) throw unsupported(f("image_url"), entry, "it takes no start image");
    if (entry.requiresImageUrl && typeof input.image_url !== "string") throw missingInput(f("image_url"), entry, "it is an image-to-video endpoint");
    if (input.aspect_ratio !== undefined) {
      const supported = entry.aspectRatios ?? [];
      if (!(supported as string[]).includes(String(input.aspect_ratio))) {
        throw unsupported(f("aspect_ratio"), entry, supported.length ? `it makes ${supported.join(", ")}` : entry.requiresImageUrl ? "its output follows the start image" : "it makes one fixed frame shape", { supported });
      }
      // fal's image-to-video endpoints take no aspect ratio: the frame is the start image's.
      if (typeof input.image_url === "string" && entry.provider !== "local") throw unsupported(f("aspect_ratio"), entry, "with a start image the output follows the image's shape", { supported });
    }
    if (input.resolution !== undefined) {
      if (!entry.acceptsResolution) throw unsupported(f("resolution"), entry, "it makes one fixed output size");
      boundedResolution(entry, input.resolution, f("resolution")); // 400 invalid_resolution
    }
    if (hasLoras(input)) throw unsupported(f("loras"), entry, "no video model loads LoRA weights");
    // A duration the model does not make (durations_s), named where it sits; one over max_duration_s
    // is left to pricing (400 duration_too_long).
    const duration = input.duration_s;
    if (typeof duration === "number" && (entry.maxDurationS === null || duration <= entry.maxDurationS)) assertDurationAllowed(entry, duration, f("duration_s"));
    if (input.motion_id !== undefined) {
      const motion = String(input.motion_id);
      if (!(MOTION_IDS as readonly string[]).includes(motion)) {
        throw ApiError.badRequest("invalid_request", `motion_id ${motion} is not one of ${MOTION_IDS.join(", ")}`, { field: f("motion_id"), motion_ids: [...MOTION_IDS] });
      }
      const supported = entry.motionIds ?? [];
      if (!(supported as string[]).includes(motion)) {
        throw unsupported(f("motion_id"), entry, supported.length ? `it supports ${supported.join(", ")}` : "it has no camera control", { supported });
      }
    }
  }
}

function hasLoras(input: Record<string, unknown>): boolean {
  return Array.isArray(input.loras) ? input.loras.length > 0 : input.loras !== undefined;
}

/**
 * Pure price math: catalog entry + validated request body → bigint micros.
 * No I/O; the same functions give the hold (estimate) and, for most providers,
 * the actual cost, so capture never exceeds the hold.
 *
 * Rules (documented in the catalog notes too):
 * - image, unit `image`: the per-image price (one image per request: the API documents no count,
 *   and undocumented fields never reach pricing — docs/ARCHITECTURE.md, Money).
 * - image, unit `megapixel` (fal's FLUX endpoints, which bill the output's megapixels rounded up,
 *   1 MP = 1024 × 1024 pixels): price × ceil(width × height / 1,048,576) of the requested size —
 *   `resolution`, else the provider's size for `aspect_ratio` (`FLUX_SIZE_BY_ASPECT`), else its
 *   default 1024×768. With `seed_image_url` the output takes the seed image's size, unknown until
 *   the provider has it: the hold is the entry's `max_resolution` and the capture what was made.
 *   A `resolution` that does not parse, or above `max_resolution`, is 400 `invalid_resolution`.
 * - video: per-second price × `duration_s` (or `duration`, the /v1/estimate spelling);
 *   default `default_duration_s` of the entry (else 5); the audio price applies when
 *   `with_audio` and the entry has one. Over `max_duration_s` → 400 `duration_too_long`;
 *   `with_audio` on a model without audio → 400 `audio_not_supported`; a duration outside the
 *   entry's `durations_s` (when it has one) → 400 `unsupported_parameter`.
 * - audio: pro rata per character: ceil(characters × price_per_1k / 1000) micros,
 *   characters counted after phoneme overrides (that is what the provider bills).
 * - compose: sum of segment durations less their `effects.crossfade` overlaps, rounded up to whole seconds, × price_per_minute / 60
 *   rounded up to the micro, never below the entry's `min_price_usd_micros`
 *   (the bundled catalog: $0.001). Over `max_duration_s` → 400 `duration_too_long`.
 * - training / prism: flat price.
 */
import { ApiError } from "../errors.ts";
import { applyPhonemeOverrides, countCharacters, TTS_MAX_EXPANDED_CHARACTERS, type PhonemeOverride } from "../providers/phonemes.ts";
import { parseResolution, type Size } from "../media/sizes.ts";
import { crossfadeMs } from "../generation/compose-effects.ts";
import type { CatalogEntry } from "./catalog.ts";

export const DEFAULT_VIDEO_DURATION_S = 5;

/** fal's named FLUX sizes (`image_size`) for our aspect ratios, as pixels; none given → landscape_4_3. */
export const FLUX_SIZE_BY_ASPECT: Record<string, { name: string } & Size> = {
  "1:1": { name: "square_hd", width: 1024, height: 1024 },
  "16:9": { name: "landscape_16_9", width: 1024, height: 576 },
  "9:16": { name: "portrait_16_9", width: 576, height: 1024 },
  "4:3": { name: "landscape_4_3", width: 1024, height: 768 },
  "3:4": { name: "portrait_4_3", width: 768, height: 1024 },
};
export const FLUX_DEFAULT_SIZE = FLUX_SIZE_BY_ASPECT["4:3"]!;
/** fal's megapixel: 1024 × 1024 pixels. */
export const PIXELS_PER_MEGAPIXEL = 1024 * 1024;

export function priceFor(entry: CatalogEntry, request: Record<string, unknown>): bigint {
  switch (entry.kind) {
    case "image":
      return entry.unit === "megapixel" ? megapixelPrice(entry, requestedImageSize(entry, request)) : entry.priceMicros;
    case "video":
      return videoPrice(entry, request);
    case "audio":
      return audioPrice(entry, audioText(request));
    case "compose":
      return composePrice(entry, composeSeconds(entry, request));
    case "training":
    case "prism":
      return entry.priceMicros;
  }
}

/** Whole megapixels fal bills for an image of this size (rounded up, at least 1). */
export function billedMegapixels(size: Size): number {
  return Math.max(1, Math.ceil((size.width * size.height) / PIXELS_PER_MEGAPIXEL));
}

export function megapixelPrice(entry: CatalogEntry, size: Size): bigint {
  return entry.priceMicros * BigInt(billedMegapixels(size));
}

/**
 * The output size an image request asks for (validated against the entry's max_resolution).
 * With a seed image on an image-to-image endpoint the output follows the seed, so the bound is
 * the largest size the entry makes.
 */
export function requestedImageSize(entry: CatalogEntry, request: Record<string, unknown>): Size {
  const max = parseResolution(entry.maxResolution);
  if (typeof request.seed_image_url === "string" && entry.provider !== "local") return max ?? FLUX_DEFAULT_SIZE;
  if (request.resolution !== undefined) return boundedResolution(entry, request.resolution);
  const named = typeof request.aspect_ratio === "string" ? FLUX_SIZE_BY_ASPECT[request.aspect_ratio] : undefined;
  const { width, height } = named ?? FLUX_DEFAULT_SIZE;
  return { width, height };
}

/**
 * A requested `resolution` as a size, within the entry's `max_resolution` (either orientation,
 * and no more pixels): 400 `invalid_resolution` naming `field` otherwise.
 */
export function boundedResolution(entry: CatalogEntry, value: unknown, field = "body.resolution"): Size {
  const max = parseResolution(entry.maxResolution);
  const size = parseResolution(value);
  if (!size) throw ApiError.badRequest("invalid_resolution", `resolution ${String(value)} is not "WIDTHxHEIGHT" or a named size such as "1080p"`, { field });
  if (max && (size.width > Math.max(max.width, max.height) || size.height > Math.max(max.width, max.height) || size.width * size.height > max.width * max.height)) {
    throw ApiError.badRequest("invalid_resolution", `Model ${entry.model} makes at most ${entry.maxResolution}; asked for ${size.width}x${size.height}`, {
      field,
      max_resolution: entry.maxResolution,
    });
  }
  return size;
}

/** The duration a video job will be asked for (validated against the entry). */
export function videoDurationS(entry: CatalogEntry, request: Record<string, unknown>): number {
  const asked = request.duration_s ?? request.duration;
  const duration = typeof asked === "number" ? asked : (entry.defaultDurationS ?? DEFAULT_VIDEO_DURATION_S);
  if (!Number.isInteger(duration) || duration < 1) {
    throw ApiError.badRequest("invalid_request", "duration_s must be a positive whole number of seconds", { field: "duration_s" });
  }
  if (entry.maxDurationS !== null && duration > entry.maxDurationS) {
    throw ApiError.badRequest("duration_too_long", `Model ${entry.model} makes at most ${entry.maxDurationS} s; asked for ${duration} s`, {
      field: "duration_s",
      max_duration_s: entry.maxDurationS,
    });
  }
  assertDurationAllowed(entry, duration, request.duration_s !== undefined ? "body.duration_s" : "body.duration");
  return duration;
}

/**
 * A model that makes only some durations (catalog `durations_s`, e.g. fal's Kling 2.1: 5 or 10 s)
 * refuses the others: 400 `unsupported_parameter` naming `field`, the model and the allowed values,
 * before anything is priced or reserved (the provider would fail the job later).
 */
export function assertDurationAllowed(entry: CatalogEntry, duration: unknown, field: string): void {
  const allowed = entry.kind === "video" ? (entry.durationsS ?? []) : [];
  if (!allowed.length || (typeof duration === "number" && allowed.includes(duration))) return;
  const name = field.replace(/^body\./, "");
  throw ApiError.badRequest("unsupported_parameter", `Model ${entry.model} does not support ${name} ${String(duration)}: it makes clips of ${durationsText(allowed)} s only`, {
    field,
    model: entry.model,
    supported: allowed,
    durations_s: allowed,
  });
}

/** "5 or 10", "3 to 15" (a run of whole seconds), "4, 6 or 8". */
function durationsText(allowed: number[]): string {
  const sorted = [...allowed].sort((a, b) => a - b);
  if (sorted.length > 2 && sorted.every((d, i) => d === sorted[0]! + i)) return `${sorted[0]} to ${sorted.at(-1)}`;
  return sorted.length > 1 ? `${sorted.slice(0, -1).join(", ")} or ${sorted.at(-1)}` : String(sorted[0]);
}

function videoPrice(entry: CatalogEntry, request: Record<string, unknown>): bigint {
  const seconds = videoDurationS(entry, request);
  const withAudio = request.with_audio === true;
  if (withAudio && !entry.supportsAudio) {
    throw ApiError.badRequest("audio_not_supported", `Model ${entry.model} cannot generate audio`, { field: "with_audio" });
  }
  const perSecond = withAudio && entry.priceWithAudioMicros !== null ? entry.priceWithAudioMicros : entry.priceMicros;
  return perSecond * BigInt(seconds);
}

/**
 * The text a TTS job will send, after phoneme overrides, bounded before it is built:
 * overrides can grow a 5,000-character text without limit, so an expansion past
 * `TTS_MAX_EXPANDED_CHARACTERS` is refused (400 `text_too_long`) before pricing.
 */
export function audioText(request: { text?: unknown; phoneme_overrides?: unknown }): string {
  const text = typeof request.text === "string" ? request.text : "";
  const expanded = applyPhonemeOverrides(text, request.phoneme_overrides as PhonemeOverride[] | undefined, TTS_MAX_EXPANDED_CHARACTERS);
  if (expanded === null) {
    throw ApiError.badRequest("text_too_long", `The text after phoneme_overrides would exceed ${TTS_MAX_EXPANDED_CHARACTERS} characters`, {
      field: "body.phoneme_overrides",
      max_characters: TTS_MAX_EXPANDED_CHARACTERS,
    });
  }
  return expanded;
}

export function audioPrice(entry: CatalogEntry, text: string): bigint {
  return ceilDiv(BigInt(countCharacters(text)) * entry.priceMicros, 1000n);
}

/** Whole seconds of output a compose request asks for (segment durations summed, ceil). */
export function composeSeconds(entry: CatalogEntry, request: Record<string, unknown>): number {
  const segments = Array.isArray(request.segments) ? (request.segments as Array<Record<string, unknown>>) : [];
  // Sum in milliseconds to avoid float drift (0.1 + 0.2 …) before rounding up.
  // Crossfades overlap two segments, so the output is shorter by them (effects.crossfade, documented).
  const totalMs = Math.max(0, segments.reduce((sum, s) => sum + Math.round((typeof s.duration === "number" ? s.duration : 0) * 1000), 0) - crossfadeMs(segments));
  const seconds = Math.ceil(totalMs / 1000);
  if (entry.maxDurationS !== null && seconds > entry.maxDurationS) {
    throw ApiError.badRequest("duration_too_long", `A composition may last at most ${entry.maxDurationS} s; the segments sum to ${seconds} s`, {
      field: "segments",
      max_duration_s: entry.maxDurationS,
    });
  }
  return seconds;
}

export function composePrice(entry: CatalogEntry, seconds: number): bigint {
  const prorata = ceilDiv(entry.priceMicros * BigInt(seconds), 60n);
  return prorata > entry.minPriceMicros ? prorata : entry.minPriceMicros;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

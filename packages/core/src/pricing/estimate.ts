/**
 * Pure price math: catalog entry + validated request body → bigint micros.
 * No I/O; the same functions give the hold (estimate) and, for most providers,
 * the actual cost, so capture never exceeds the hold.
 *
 * Rules (documented in the catalog notes too):
 * - image: the per-image price (one image per request: the API documents no count, and
 *   undocumented fields never reach pricing — docs/ARCHITECTURE.md, Money).
 * - video: per-second price × `duration_s` (or `duration`, the /v1/estimate spelling);
 *   default `default_duration_s` of the entry (else 5); the audio price applies when
 *   `with_audio` and the entry has one. Over `max_duration_s` → 400 `duration_too_long`;
 *   `with_audio` on a model without audio → 400 `audio_not_supported`.
 * - audio: pro rata per character: ceil(characters × price_per_1k / 1000) micros,
 *   characters counted after phoneme overrides (that is what the provider bills).
 * - compose: sum of segment durations, rounded up to whole seconds, × price_per_minute / 60
 *   rounded up to the micro, never below the entry's `min_price_usd_micros`
 *   (the bundled catalog: $0.001). Over `max_duration_s` → 400 `duration_too_long`.
 * - training / prism: flat price.
 */
import { ApiError } from "../errors.ts";
import { applyPhonemeOverrides, countCharacters, TTS_MAX_EXPANDED_CHARACTERS, type PhonemeOverride } from "../providers/phonemes.ts";
import type { CatalogEntry } from "./catalog.ts";

export const DEFAULT_VIDEO_DURATION_S = 5;

export function priceFor(entry: CatalogEntry, request: Record<string, unknown>): bigint {
  switch (entry.kind) {
    case "image":
      return entry.priceMicros;
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
  return duration;
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
  const totalMs = segments.reduce((sum, s) => sum + Math.round((typeof s.duration === "number" ? s.duration : 0) * 1000), 0);
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

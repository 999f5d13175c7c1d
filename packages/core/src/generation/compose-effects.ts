/**
 * Compose segment `effects` (documented in the spec's ComposeRequest): what each key means, its
 * bounds, and the checks across segments. Submit refuses a bad or unknown key with 400 naming
 * it (`unsupported_parameter` for a key that does not exist or does not apply to the segment's
 * media, `invalid_request` for a value out of bounds) before anything is reserved; the compose
 * provider parses the same way and renders them with ffmpeg 4.1 filters (compose-provider.ts).
 *
 * - `fade_in`, `fade_out` (seconds, > 0, at most the segment's duration): from / to black, and the
 *   segment's sound from / to silence.
 * - `crossfade` (seconds, > 0): this segment dissolves into the next one, which starts that much
 *   earlier; so the output is shorter by it. Not on the last segment; a segment's incoming and
 *   outgoing crossfades together fit in its duration.
 * - `speed` (0.25–4, videos): playback rate; `duration` stays the length in the output, so the
 *   segment reads `duration × speed` seconds of its source from `start_time`. Sound is re-timed
 *   without changing pitch (atempo).
 * - `volume` (0–2): gain of the segment's sound. `mute` (boolean): silence it.
 * - `motion` (images): a gentle camera move over the still, one of MOTION_IDS; default `static`.
 */
import { MOTION_IDS, type MotionId } from "../pricing/catalog.ts";

export const COMPOSE_EFFECT_KEYS = ["fade_in", "fade_out", "crossfade", "speed", "volume", "mute", "motion"] as const;

export interface SegmentEffects {
  fadeIn: number;
  fadeOut: number;
  crossfade: number;
  speed: number;
  volume: number;
  mute: boolean;
  motion: MotionId;
}

export const NO_EFFECTS: SegmentEffects = { fadeIn: 0, fadeOut: 0, crossfade: 0, speed: 1, volume: 1, mute: false, motion: "static" };

export interface EffectProblem {
  code: "unsupported_parameter" | "invalid_request";
  field: string;
  message: string;
}

export interface SegmentForEffects {
  duration: number;
  effects?: Record<string, unknown> | undefined;
  /** Known at submit from the asset's content type; null when unknown. */
  media: "image" | "video" | null;
}

/** Every segment's effects, or the first problem found (field = `body.segments[i].effects.key`). */
export function parseComposeEffects(segments: SegmentForEffects[]): { effects: SegmentEffects[] } | { problem: EffectProblem } {
  const out: SegmentEffects[] = [];
  for (const [i, seg] of segments.entries()) {
    const field = (key: string) => `body.segments[${i}].effects.${key}`;
    const given = seg.effects ?? {};
    const e: SegmentEffects = { ...NO_EFFECTS };
    for (const [key, value] of Object.entries(given)) {
      const bad = (message: string): { problem: EffectProblem } => ({ problem: { code: "invalid_request", field: field(key), message: `Segment ${i}: ${message}` } });
      const num = (min: number, max: number, exclusiveMin: boolean) =>
        typeof value === "number" && Number.isFinite(value) && (exclusiveMin ? value > min : value >= min) && value <= max ? value : null;
      switch (key) {
        case "fade_in":
        case "fade_out": {
          const v = num(0, seg.duration, true);
          if (v === null) return bad(`${key} must be a number of seconds above 0 and at most the segment's duration (${seg.duration} s)`);
          if (key === "fade_in") e.fadeIn = v;
          else e.fadeOut = v;
          break;
        }
        case "crossfade": {
          const v = num(0, seg.duration, true);
          if (v === null) return bad(`crossfade must be a number of seconds above 0 and at most the segment's duration (${seg.duration} s)`);
          if (i === segments.length - 1) return bad("crossfade blends into the next segment; the last segment has none");
          e.crossfade = v;
          break;
        }
        case "speed": {
          if (seg.media === "image") return { problem: { code: "unsupported_parameter", field: field(key), message: `Segment ${i}: speed applies to video segments; a still has no playback rate` } };
          const v = num(0.25, 4, false);
          if (v === null) return bad("speed must be a number from 0.25 to 4");
          e.speed = v;
          break;
        }
        case "volume": {
          const v = num(0, 2, false);
          if (v === null) return bad("volume must be a number from 0 to 2");
          e.volume = v;
          break;
        }
        case "mute":
          if (typeof value !== "boolean") return bad("mute must be true or false");
          e.mute = value;
          break;
        case "motion":
          if (seg.media === "video") return { problem: { code: "unsupported_parameter", field: field(key), message: `Segment ${i}: motion applies to image segments (a camera move over a still)` } };
          if (typeof value !== "string" || !(MOTION_IDS as readonly string[]).includes(value)) return bad(`motion must be one of ${MOTION_IDS.join(", ")}`);
          e.motion = value as MotionId;
          break;
        default:
          return {
            problem: { code: "unsupported_parameter", field: field(key), message: `Segment ${i}: unknown effect ${key}; compose supports ${COMPOSE_EFFECT_KEYS.join(", ")}` },
          };
      }
    }
    out.push(e);
  }
  // Each segment's incoming and outgoing dissolves must fit in it, and a dissolve in the next one.
  for (const [i, e] of out.entries()) {
    const incoming = i > 0 ? out[i - 1]!.crossfade : 0;
    const next = segments[i + 1];
    if (e.crossfade > 0 && next && e.crossfade > next.duration) {
      return { problem: { code: "invalid_request", field: `body.segments[${i}].effects.crossfade`, message: `Segment ${i}: crossfade ${e.crossfade} s is longer than the next segment (${next.duration} s)` } };
    }
    if (incoming + e.crossfade > segments[i]!.duration + 1e-9) {
      return {
        problem: { code: "invalid_request", field: `body.segments[${i}].effects.crossfade`, message: `Segment ${i}: its crossfades in (${incoming} s) and out (${e.crossfade} s) exceed its duration (${segments[i]!.duration} s)` },
      };
    }
  }
  return { effects: out };
}

/** Milliseconds the crossfades take off the output (each overlaps two segments). */
export function crossfadeMs(segments: Array<{ effects?: unknown }>): number {
  return segments.slice(0, -1).reduce((sum, s) => {
    const c = (s.effects as Record<string, unknown> | undefined)?.crossfade;
    return sum + (typeof c === "number" && Number.isFinite(c) && c > 0 ? Math.round(c * 1000) : 0);
  }, 0);
}

/**
 * `phoneme_overrides` ({from, to}[]) are applied as plain text replacements before
 * the text is sent to the TTS model, e.g. {from: "AERIOX", to: "air-ee-ox"}.
 *
 * Why not SSML `<phoneme>` tags: ElevenLabs honours them only on a few English models
 * (not eleven_v3 / multilingual v2, our defaults) and reads them aloud elsewhere.
 * Replacement works with every model, and pricing uses the same function so the
 * estimate always counts exactly the characters that are billed.
 *
 * Rules: applied in order, every occurrence, case-sensitive, literal (no regex);
 * empty `from` is ignored.
 */
export interface PhonemeOverride {
  from: string;
  to: string;
}

/**
 * Longest text a TTS request may expand to (UTF-16 code units). ElevenLabs takes at most
 * 10,000 characters per request on its largest models; the bound also keeps a small
 * request from growing into hundreds of megabytes through repeated overrides.
 */
export const TTS_MAX_EXPANDED_CHARACTERS = 10_000;

/**
 * The text after the overrides, or null when it would exceed `maxLength`: each step's
 * length is computed from the occurrence count before the new string is built.
 */
export function applyPhonemeOverrides(text: string, overrides: readonly PhonemeOverride[] | undefined, maxLength = Number.POSITIVE_INFINITY): string | null {
  if (text.length > maxLength) return null;
  let out = text;
  for (const o of overrides ?? []) {
    if (!o || typeof o.from !== "string" || typeof o.to !== "string" || o.from === "") continue;
    const parts = out.split(o.from);
    const length = out.length + (parts.length - 1) * (o.to.length - o.from.length);
    if (length > maxLength) return null;
    out = parts.join(o.to);
  }
  return out;
}

/** Billable characters: Unicode code points (an emoji counts once, as ElevenLabs counts). */
export function countCharacters(text: string): number {
  return [...text].length;
}

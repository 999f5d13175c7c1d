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

export function applyPhonemeOverrides(text: string, overrides: readonly PhonemeOverride[] | undefined): string {
  let out = text;
  for (const o of overrides ?? []) {
    if (!o || typeof o.from !== "string" || typeof o.to !== "string" || o.from === "") continue;
    out = out.split(o.from).join(o.to);
  }
  return out;
}

/** Billable characters: Unicode code points (an emoji counts once, as ElevenLabs counts). */
export function countCharacters(text: string): number {
  return [...text].length;
}

/**
 * WAV = 44-byte RIFF header + 16-bit little-endian PCM. Used by local/tts: each character
 * becomes a short tone whose pitch depends on the character, so length scales with the
 * text and different texts sound (and hash) different.
 */
import { createHash } from "node:crypto";

export const TTS_SAMPLE_RATE = 16_000;
export const SECONDS_PER_CHARACTER = 0.06;

export function wavHeader(dataBytes: number, sampleRate: number, channels = 1, bitsPerSample = 16): Buffer {
  const h = Buffer.alloc(44);
  const blockAlign = (channels * bitsPerSample) / 8;
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write("WAVE", 8, "ascii");
  h.write("fmt ", 12, "ascii");
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bitsPerSample, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** Output length of `synthesizeToneSpeech` for a text of this many characters (code points). */
export function toneSpeechDurationS(characters: number, sampleRate = TTS_SAMPLE_RATE): number {
  const perChar = Math.round(sampleRate * SECONDS_PER_CHARACTER);
  return Math.max(perChar, characters * perChar) / sampleRate;
}

/**
 * A local/tts voice: where its tones sit (base pitch and step per character) and its timbre
 * (relative strength of the 2nd and 3rd harmonics). Derived from a character (or a voice id)
 * by `toneVoiceFor`, so each character speaks in its own, stable voice.
 */
export interface ToneVoice {
  baseHz: number;
  stepHz: number;
  harmonics: [number, number];
}

/** The voice used when a request names none: the pure tones of earlier releases. */
const DEFAULT_TONE_VOICE: ToneVoice = { baseHz: 180, stepHz: 12, harmonics: [0, 0] };

/** A stable voice from a key: base 110–290 Hz, step 6–16 Hz, harmonics 0–0.6 each. */
export function toneVoiceFor(key: string): ToneVoice {
  const h = createHash("sha256").update(`tone-voice\u0000${key}`).digest();
  return { baseHz: 110 + (h.readUInt16BE(0) % 181), stepHz: 6 + (h[2]! % 11), harmonics: [Math.round((h[3]! / 255) * 60) / 100, Math.round((h[4]! / 255) * 60) / 100] };
}

export function synthesizeToneSpeech(text: string, sampleRate = TTS_SAMPLE_RATE, voice: ToneVoice = DEFAULT_TONE_VOICE): { bytes: Uint8Array; durationS: number } {
  const chars = [...text];
  const perChar = Math.round(sampleRate * SECONDS_PER_CHARACTER);
  const tones = Math.max(1, chars.length);
  const pcm = Buffer.alloc(tones * perChar * 2);
  let phase = 0;
  const norm = 1 + voice.harmonics[0] + voice.harmonics[1]; // peak stays within 16 bits
  // Per-character values are computed once per tone, not per sample: same arithmetic, same bytes.
  for (let c = 0; c < tones; c++) {
    const ch = chars[c] ?? " ";
    const code = ch.codePointAt(0) ?? 32;
    const silent = /\s/.test(ch);
    const freq = voice.baseHz + (code % 48) * voice.stepHz;
    const step = (2 * Math.PI * freq) / sampleRate;
    for (let j = 0; j < perChar; j++) {
      phase += step;
      const envelope = silent ? 0 : Math.sin(Math.PI * (j / perChar)); // fade each tone in/out: no clicks
      const wave = Math.sin(phase) + voice.harmonics[0] * Math.sin(2 * phase) + voice.harmonics[1] * Math.sin(3 * phase);
      pcm.writeInt16LE(Math.round((wave / norm) * envelope * 0.4 * 32767), (c * perChar + j) * 2);
    }
  }
  return { bytes: new Uint8Array(Buffer.concat([wavHeader(pcm.length, sampleRate), pcm])), durationS: (tones * perChar) / sampleRate };
}

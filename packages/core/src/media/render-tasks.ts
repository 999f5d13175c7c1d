/**
 * The CPU-bound local media steps as plain data ("tasks"), so they can be posted to a
 * worker thread: the procedural PNG of local/image, the tone WAV of local/tts and the
 * prism pixel transform. `runRenderTask` is the synchronous work; `checkRenderLimits`
 * is the cheap up-front size check, made before any task is dispatched.
 */
import type { TransformOp } from "../prisms/catalog.ts";
import { countCharacters } from "../providers/phonemes.ts";
import { ProviderError } from "../providers/errors.ts";
import { renderProceduralPng, type ImageStyle } from "./procedural-png.ts";
import { transformPng } from "./png-transform.ts";
import { synthesizeToneSpeech, toneSpeechDurationS, TTS_SAMPLE_RATE, type ToneVoice } from "./wav.ts";
import { analyzeReferencePng } from "./reference-analysis.ts";
import { blendSeedImage } from "./seed-blend.ts";

export type RenderTask =
  /** `seedImage`: a PNG blended under the pattern (local/image's seed_image_url). */
  | { kind: "procedural_png"; prompt: string; seed: number | undefined; width: number; height: number; style?: ImageStyle; seedImage?: Uint8Array }
  | { kind: "tone_speech"; text: string; voice?: ToneVoice }
  | { kind: "png_transform"; png: Uint8Array; ops: TransformOp[] }
  /** Character training: a reference PNG → JSON ReferenceAnalysis (or `null` when it does not decode) as the output bytes. */
  | { kind: "reference_analysis"; png: Uint8Array };

export interface RenderOutput {
  bytes: Uint8Array;
  width?: number;
  height?: number;
  durationS?: number;
}

export interface RenderLimits {
  /** Largest image (width × height) rendered or decoded; bounds the RGBA buffer (4 bytes a pixel). */
  maxPixels: number;
  /** Longest local/tts output. */
  maxAudioSeconds: number;
}

export function runRenderTask(task: RenderTask): RenderOutput {
  switch (task.kind) {
    case "procedural_png": {
      const pattern = renderProceduralPng(task.prompt, task.seed, task.width, task.height, task.style);
      return { bytes: task.seedImage ? blendSeedImage(pattern, task.seedImage) : pattern, width: task.width, height: task.height };
    }
    case "tone_speech":
      return synthesizeToneSpeech(task.text, TTS_SAMPLE_RATE, task.voice);
    case "png_transform":
      return transformPng(task.png, task.ops);
    case "reference_analysis":
      return { bytes: new TextEncoder().encode(JSON.stringify(analyzeReferencePng(task.png))) };
  }
}

/** Throws a non-retryable `output_too_large` when the task's output would exceed the limits. */
export function checkRenderLimits(task: RenderTask, limits: RenderLimits): void {
  switch (task.kind) {
    case "procedural_png": {
      if (task.seedImage) {
        // The seed is decoded whole (width × height × 4 bytes): over the pixel bound it is refused, not decoded.
        const size = pngSize(task.seedImage);
        if (!size) throw new ProviderError("client", "The seed image is not a PNG", { code: "unsupported_content_type" });
        checkPixels(size.width, size.height, limits);
      }
      return checkPixels(task.width, task.height, limits);
    }
    case "tone_speech": {
      const seconds = toneSpeechDurationS(countCharacters(task.text));
      if (seconds > limits.maxAudioSeconds) {
        throw new ProviderError("client", `The speech would last ${Math.ceil(seconds)} s; the limit is ${limits.maxAudioSeconds} s`, { code: "output_too_large" });
      }
      return;
    }
    case "png_transform": {
      const size = pngSize(task.png);
      if (!size) throw new ProviderError("client", "The image is not a PNG", { code: "media_processing_failed" });
      return checkPixels(size.width, size.height, limits);
    }
    case "reference_analysis": {
      // Decoding allocates width × height × 4 bytes: a reference over the pixel bound is refused, not decoded.
      const size = pngSize(task.png);
      if (!size) throw new ProviderError("client", "The reference is not a PNG", { code: "unsupported_content_type" });
      return checkPixels(size.width, size.height, limits);
    }
  }
}

function checkPixels(width: number, height: number, limits: RenderLimits): void {
  if (width * height > limits.maxPixels) {
    throw new ProviderError("client", `A ${width}x${height} image exceeds the ${limits.maxPixels} pixel limit`, { code: "output_too_large" });
  }
}

/** Width and height from the IHDR chunk, which a valid PNG has first; decoding allocates from these. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 24 || b.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a" || b.toString("ascii", 12, 16) !== "IHDR") return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/**
 * Offline models, no key and no network: local/image (procedural PNG), local/video
 * (ffmpeg test pattern MP4), local/tts (tone WAV). Deterministic for a given input.
 * PNG and WAV are rendered by the renderer (the runtime's worker-thread pool), MP4 by an
 * ffmpeg child process: nothing heavy runs on the calling thread.
 *
 * Inputs: local/image blends `seed_image_url` under its pattern (fetched through the guarded
 * fetcher, converted to PNG by ffmpeg when it is not one, decoded and blended in the render
 * pool); local/video moves a virtual camera for `motion_id` (ffmpeg zoompan over the pattern).
 *
 * Characters: local/image with `character_style` (resolved from the character's training
 * artifact at submit, generation/characters-ref.ts) renders through the character's palette and
 * composition; local/tts with `character_voice_id` speaks in a voice derived from the character
 * (or, with `voice_id`, from that id), stable and distinct per character.
 */
import { priceFor, audioText, videoDurationS } from "../pricing/estimate.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { renderTestPatternVideo } from "../media/test-pattern-video.ts";
import { sizeFor } from "../media/sizes.ts";
import { inlineRenderer, type Renderer } from "../media/render-pool.ts";
import type { ImageStyle } from "../media/procedural-png.ts";
import { toneVoiceFor } from "../media/wav.ts";
import { safeProgress, type ProviderAdapter } from "./adapter.ts";
import fs from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../config.ts";
import { guardedFetch, isOutboundFetchError, outboundPolicyFrom, type OutboundPolicy } from "../net/index.ts";
import { runFfmpeg } from "../media/ffmpeg.ts";
import { withTempDir } from "../media/tempdir.ts";
import { pngSize } from "../media/render-tasks.ts";
import { ProviderError, abortedError } from "./errors.ts";
import type { ProviderContext, ProviderRequest, ProviderResult } from "./types.ts";

export interface LocalProviderOptions {
  /** Long side when neither resolution nor aspect_ratio forces one. */
  imageDefaultLongSide?: number;
  imageMaxLongSide?: number;
  videoDefaultLongSide?: number;
  videoMaxLongSide?: number;
  ffmpegTimeoutMs?: number;
  /** Where seed_image_url may be fetched from; default: the FETCH_* settings of the environment. */
  outbound?: OutboundPolicy;
}

/** local/echo's output: one transparent pixel (a valid PNG, 70 bytes). */
const ECHO_PNG = new Uint8Array(Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64"));

export class LocalProvider implements ProviderAdapter {
  readonly name = "local";
  constructor(
    private readonly options: LocalProviderOptions = {},
    private readonly renderer: Renderer = inlineRenderer(),
  ) {}

  async run(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult> {
    if (ctx.signal.aborted) throw abortedError(ctx.signal);
    await safeProgress(ctx, 1);
    const cost = priceFor(entry, req.input);
    const input = req.input;
    switch (entry.providerModel) {
      case "local/echo":
        // Zero work, for checking an integration and measuring the engine itself: a fixed 1×1
        // PNG, no render pool, priced like any model so the hold, capture and ledger run.
        return { outputs: [{ bytes: ECHO_PNG, contentType: "image/png", width: 1, height: 1 }], actualCostMicros: cost, nsfw: false };
      case "local/image": {
        const max = this.options.imageMaxLongSide ?? 1024;
        const { width, height } = sizeFor(input, Math.min(this.options.imageDefaultLongSide ?? 512, max), max);
        const style = styleOf(input.character_style);
        const seedImage = typeof input.seed_image_url === "string" ? await this.seedImagePng(input.seed_image_url, ctx) : null;
        const { bytes } = await this.renderer.render(
          { kind: "procedural_png", prompt: String(input.prompt ?? ""), seed: seedOf(input), width, height, ...(style ? { style } : {}), ...(seedImage ? { seedImage } : {}) },
          ctx.signal,
        );
        await safeProgress(ctx, 100);
        return { outputs: [{ bytes, contentType: "image/png", width, height }], actualCostMicros: cost, nsfw: false };
      }
      case "local/video": {
        const max = this.options.videoMaxLongSide ?? 1280;
        const { width, height } = sizeFor(input, Math.min(this.options.videoDefaultLongSide ?? 640, max), max);
        const durationS = videoDurationS(entry, input);
        let lastPct = 0;
        const bytes = await renderTestPatternVideo({
          prompt: String(input.prompt ?? ""),
          seed: seedOf(input),
          durationS,
          width,
          height,
          withAudio: input.with_audio === true,
          motion: typeof input.motion_id === "string" ? input.motion_id : undefined,
          signal: ctx.signal,
          timeoutMs: this.options.ffmpegTimeoutMs ?? 120_000,
          onProgress: (f) => {
            const pct = Math.floor(f * 95);
            if (pct >= lastPct + 5) {
              lastPct = pct;
              void safeProgress(ctx, pct);
            }
          },
        });
        await safeProgress(ctx, 100);
        return { outputs: [{ bytes, contentType: "video/mp4", width, height, durationS }], actualCostMicros: cost, nsfw: false };
      }
      case "local/tts": {
        const voiceKey = typeof input.character_voice_id === "string" ? `character:${input.character_voice_id}` : typeof input.voice_id === "string" && input.voice_id ? `voice:${input.voice_id}` : null;
        const { bytes, durationS } = await this.renderer.render({ kind: "tone_speech", text: audioText(input), ...(voiceKey ? { voice: toneVoiceFor(voiceKey) } : {}) }, ctx.signal);
        await safeProgress(ctx, 100);
        return { outputs: [{ bytes, contentType: "audio/wav", durationS }], actualCostMicros: cost, nsfw: false };
      }
      default:
        throw new ProviderError("client", `The local provider has no model ${entry.providerModel}`, { code: "unknown_model" });
    }
  }

  async cancel(): Promise<void> {
    // Local work runs in our render threads / as our child: aborting ctx.signal stops it.
  }

  /**
   * The seed image as a PNG: fetched through the guarded fetcher (ARCHITECTURE.md, Outbound
   * fetches; `data:` image URLs accepted), other still formats converted by an ffmpeg child. A
   * seed that cannot be fetched or decoded fails the job (refunded), naming seed_image_url.
   */
  private async seedImagePng(url: string, ctx: ProviderContext): Promise<Uint8Array> {
    const { signal } = ctx;
    let got: { bytes: Buffer; contentType: string };
    try {
      // One of our own assets (an upload, an output): read from the asset store, never over the network.
      const own = ctx.readAssetUrl?.(url);
      if (own) {
        const asset = await own.catch((err: unknown) => {
          if (err instanceof ProviderError) throw new ProviderError(err.kind, `seed_image_url: ${err.message}`, { retryable: err.retryable, code: err.code, cause: err });
          throw err;
        });
        if (!["image/png", "image/jpeg", "image/webp"].includes(asset.contentType)) throw new ProviderError("client", `seed_image_url: the asset is ${asset.contentType}, not an image`, { code: "unsupported_content_type" });
        got = { bytes: Buffer.from(asset.bytes.buffer, asset.bytes.byteOffset, asset.bytes.byteLength), contentType: asset.contentType };
      } else got = await guardedFetch(url, { policy: this.options.outbound ?? outboundPolicyFrom(loadConfig()), signal, allowDataUrls: true, accept: ["image/png", "image/jpeg", "image/webp"] });
    } catch (err) {
      if (!isOutboundFetchError(err)) throw err;
      const retryable = err.code === "fetch_timeout" || (err.code === "fetch_failed" && (err.status ?? 500) >= 500);
      throw new ProviderError(retryable ? "server" : "client", `seed_image_url: ${err.message}`, { retryable, code: err.code === "fetch_failed" || err.code === "fetch_timeout" ? "seed_image_unavailable" : err.code, cause: err });
    }
    const bytes = new Uint8Array(got.bytes.buffer, got.bytes.byteOffset, got.bytes.byteLength);
    if (got.contentType === "image/png" && pngSize(bytes)) return bytes;
    return withTempDir("seed", async (dir) => {
      const input = path.join(dir, "seed.img");
      const out = path.join(dir, "seed.png");
      await fs.writeFile(input, bytes);
      // Decoded at most at the render pixel bound (scaled down, keeping the ratio), so the PNG stays within it.
      const side = Math.floor(Math.sqrt(this.renderer.limits.maxPixels));
      await runFfmpeg(["-i", input, "-frames:v", "1", "-vf", `scale='min(iw,${side})':'min(ih,${side})':force_original_aspect_ratio=decrease`, out], {
        signal,
        timeoutMs: this.options.ffmpegTimeoutMs ?? 120_000,
        outputFile: out,
        maxOutputBytes: this.renderer.limits.maxPixels * 4 + 1024 * 1024,
      }).catch((err: unknown) => {
        throw new ProviderError("client", "seed_image_url: the image could not be decoded", { code: "invalid_seed_image", cause: err });
      });
      return new Uint8Array(await fs.readFile(out));
    });
  }
}

function seedOf(input: Record<string, unknown>): number | undefined {
  return typeof input.seed === "number" ? input.seed : undefined;
}

/** `character_style` as the engine stored it; anything else is a malformed job, not a silent default. */
function styleOf(value: unknown): ImageStyle | null {
  if (value === undefined) return null;
  const v = value as Partial<ImageStyle>;
  const rgb = (c: unknown) => Array.isArray(c) && c.length === 3 && c.every((x) => typeof x === "number");
  if (!v || !Array.isArray(v.palette) || !v.palette.every(rgb) || !Array.isArray(v.center) || v.center.length !== 2 || typeof v.key !== "string") {
    throw new ProviderError("client", "Malformed character_style in the job input", { code: "invalid_character_style" });
  }
  return { palette: v.palette, center: [Number(v.center[0]), Number(v.center[1])], key: v.key };
}

/**
 * Offline prism transforms. Images: the recipe's pixel ops over RGBA with pngjs, in the
 * render pool (non-PNG stills are first converted to PNG with the bundled ffmpeg). Videos: the
 * same ops as an ffmpeg 4.1 filter chain, re-encoded to H.264 MP4. Audio: the
 * recipe's `audio_filter`, re-encoded to WAV.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { PNG } from "pngjs";
import { runFfmpeg, probeMedia } from "../media/ffmpeg.ts";
import { withTempDir } from "../media/tempdir.ts";
import { inlineRenderer, type Renderer } from "../media/render-pool.ts";
import { ProviderError } from "../providers/errors.ts";
import type { ProviderOutput } from "../providers/types.ts";
import type { PrismDefinition, TransformOp } from "./catalog.ts";

export { transformPng } from "../media/png-transform.ts";

/** The ops applied to a PNG by the renderer (off the calling thread with the runtime's pool). */
export async function renderTransformedPng(renderer: Renderer, png: Uint8Array, ops: TransformOp[], signal: AbortSignal): Promise<{ bytes: Uint8Array; width: number; height: number }> {
  const out = await renderer.render({ kind: "png_transform", png, ops }, signal);
  return { bytes: out.bytes, width: out.width!, height: out.height! };
}

/** The same ops as an ffmpeg filter chain (for video). */
export function ffmpegVideoFilter(ops: TransformOp[]): string {
  const parts = ops.map((op) => {
    switch (op.op) {
      case "grayscale":
        return "hue=s=0";
      case "sepia":
        return "colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131";
      case "contrast":
        return `eq=contrast=${op.amount}`;
      case "brightness":
        return `eq=brightness=${op.amount}`;
      case "saturate":
        return `eq=saturation=${op.amount}`;
      case "posterize": {
        const step = (256 / Math.max(1, op.levels)).toFixed(3);
        const f = `floor(val/${step})*${step}`;
        return `lutrgb=r='${f}':g='${f}':b='${f}'`;
      }
      case "vignette":
        return `vignette=angle=${(Math.PI / 5 + (op.strength * Math.PI) / 5).toFixed(3)}`;
      case "tint": {
        const [cr, cg, cb] = op.color.map((c) => ((c / 255) * op.amount).toFixed(3));
        const k = (1 - op.amount).toFixed(3);
        // Each channel keeps (1-amount) of itself and gains amount*colour from the luma of the pixel.
        return `colorchannelmixer=rr=${k}:rg=0:rb=0:gr=0:gg=${k}:gb=0:br=0:bg=0:bb=${k},lutrgb=r='val+${cr}*255':g='val+${cg}*255':b='val+${cb}*255'`;
      }
    }
    return "null";
  });
  return [...parts, "format=yuv420p"].join(",");
}

const EXT: Record<string, string> = { "image/jpeg": "jpg", "image/webp": "webp", "image/png": "png", "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov", "audio/wav": "wav", "audio/mpeg": "mp3" };

/** Transforms one stored asset with the prism's recipe into a new output. */
export async function transformAsset(
  prism: PrismDefinition,
  asset: { bytes: Uint8Array; contentType: string },
  signal: AbortSignal,
  renderer: Renderer = inlineRenderer(),
): Promise<ProviderOutput> {
  const type = asset.contentType.split(";")[0]!.trim().toLowerCase();
  const ops = prism.recipe.transform ?? [];
  if (type === "image/png") {
    const out = await renderTransformedPng(renderer, asset.bytes, ops, signal);
    return { bytes: out.bytes, contentType: "image/png", width: out.width, height: out.height };
  }
  return withTempDir("prism", async (dir) => {
    const input = path.join(dir, `in.${EXT[type] ?? "bin"}`);
    await fs.writeFile(input, asset.bytes);
    if (type.startsWith("image/")) {
      const png = path.join(dir, "in.png");
      // A PNG over the pixel limit is refused before decoding anyway; this stops ffmpeg writing one far past it.
      const maxOutputBytes = renderer.limits.maxPixels * 4 + 1024 * 1024;
      await runFfmpeg(["-i", input, "-frames:v", "1", png], { signal, timeoutMs: 60_000, outputFile: png, maxOutputBytes });
      const out = await renderTransformedPng(renderer, await fs.readFile(png), ops, signal);
      return { bytes: out.bytes, contentType: "image/png", width: out.width, height: out.height };
    }
    if (type.startsWith("video/")) {
      const out = path.join(dir, "out.mp4");
      // scale to even dimensions (H.264), keep audio if any.
      const vf = `scale=trunc(iw/2)*2:trunc(ih/2)*2,${ffmpegVideoFilter(ops)}`;
      await runFfmpeg(["-i", input, "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-movflags", "+faststart", out], {
        signal,
        timeoutMs: 600_000,
        outputFile: out,
        maxOutputBytes: 1024 * 1024 * 1024,
      });
      const info = await probeMedia(out, { signal });
      return {
        bytes: new Uint8Array(await fs.readFile(out)),
        contentType: "video/mp4",
        ...(info.width ? { width: info.width } : {}),
        ...(info.height ? { height: info.height } : {}),
        ...(info.durationS !== null ? { durationS: info.durationS } : {}),
      };
    }
    if (type.startsWith("audio/")) {
      const out = path.join(dir, "out.wav");
      await runFfmpeg(["-i", input, "-af", prism.recipe.audio_filter ?? "anull", "-c:a", "pcm_s16le", out], { signal, timeoutMs: 120_000 });
      const info = await probeMedia(out, { signal });
      return { bytes: new Uint8Array(await fs.readFile(out)), contentType: "audio/wav", ...(info.durationS !== null ? { durationS: info.durationS } : {}) };
    }
    throw new ProviderError("client", `Prism ${prism.id} cannot transform ${type}`, { code: "prism_incompatible" });
  });
}

/** A solid-colour RGBA PNG (tests, previews). */
export function solidPng(r: number, g: number, b: number, width = 16, height = width): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height * 4; i += 4) {
    png.data[i] = r;
    png.data[i + 1] = g;
    png.data[i + 2] = b;
    png.data[i + 3] = 255;
  }
  return PNG.sync.write(png);
}

/**
 * Offline prism transforms. Images: the recipe's pixel ops over RGBA with pngjs
 * (non-PNG stills are first converted to PNG with the bundled ffmpeg). Videos: the
 * same ops as an ffmpeg 4.1 filter chain, re-encoded to H.264 MP4. Audio: the
 * recipe's `audio_filter`, re-encoded to WAV.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { PNG } from "pngjs";
import { runFfmpeg, probeMedia } from "../media/ffmpeg.ts";
import { withTempDir } from "../media/tempdir.ts";
import { ProviderError } from "../providers/errors.ts";
import type { ProviderOutput } from "../providers/types.ts";
import type { PrismDefinition, TransformOp } from "./catalog.ts";

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Applies the ops to a PNG and returns a new PNG (RGBA). */
export function transformPng(input: Uint8Array, ops: TransformOp[]): { bytes: Uint8Array; width: number; height: number } {
  const png = PNG.sync.read(Buffer.from(input));
  const { width, height, data } = png;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const maxD = Math.sqrt(cx * cx + cy * cy) || 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      let r = data[i]!;
      let g = data[i + 1]!;
      let b = data[i + 2]!;
      for (const op of ops) {
        switch (op.op) {
          case "grayscale": {
            const l = 0.299 * r + 0.587 * g + 0.114 * b;
            r = g = b = l;
            break;
          }
          case "sepia": {
            const nr = 0.393 * r + 0.769 * g + 0.189 * b;
            const ng = 0.349 * r + 0.686 * g + 0.168 * b;
            const nb = 0.272 * r + 0.534 * g + 0.131 * b;
            r = nr;
            g = ng;
            b = nb;
            break;
          }
          case "contrast":
            r = (r - 128) * op.amount + 128;
            g = (g - 128) * op.amount + 128;
            b = (b - 128) * op.amount + 128;
            break;
          case "brightness":
            r += op.amount * 255;
            g += op.amount * 255;
            b += op.amount * 255;
            break;
          case "saturate": {
            const l = 0.299 * r + 0.587 * g + 0.114 * b;
            r = l + (r - l) * op.amount;
            g = l + (g - l) * op.amount;
            b = l + (b - l) * op.amount;
            break;
          }
          case "posterize": {
            const step = 255 / Math.max(1, op.levels - 1);
            r = Math.round(clamp(r) / step) * step;
            g = Math.round(clamp(g) / step) * step;
            b = Math.round(clamp(b) / step) * step;
            break;
          }
          case "vignette": {
            const d = Math.sqrt((x - cx) ** 2 + (y - cy) ** 2) / maxD;
            const f = 1 - op.strength * d * d;
            r *= f;
            g *= f;
            b *= f;
            break;
          }
          case "tint":
            r = r * (1 - op.amount) + op.color[0] * op.amount;
            g = g * (1 - op.amount) + op.color[1] * op.amount;
            b = b * (1 - op.amount) + op.color[2] * op.amount;
            break;
        }
      }
      data[i] = Math.round(clamp(r));
      data[i + 1] = Math.round(clamp(g));
      data[i + 2] = Math.round(clamp(b));
    }
  }
  return { bytes: new Uint8Array(PNG.sync.write(png)), width, height };
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
export async function transformAsset(prism: PrismDefinition, asset: { bytes: Uint8Array; contentType: string }, signal: AbortSignal): Promise<ProviderOutput> {
  const type = asset.contentType.split(";")[0]!.trim().toLowerCase();
  const ops = prism.recipe.transform ?? [];
  if (type === "image/png") {
    const out = transformPng(asset.bytes, ops);
    return { bytes: out.bytes, contentType: "image/png", width: out.width, height: out.height };
  }
  return withTempDir("prism", async (dir) => {
    const input = path.join(dir, `in.${EXT[type] ?? "bin"}`);
    await fs.writeFile(input, asset.bytes);
    if (type.startsWith("image/")) {
      const png = path.join(dir, "in.png");
      await runFfmpeg(["-i", input, "-frames:v", "1", png], { signal, timeoutMs: 60_000 });
      const out = transformPng(await fs.readFile(png), ops);
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

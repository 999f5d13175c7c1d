/**
 * compose.stitch_per_minute: stitches workspace assets (videos or still images) into one
 * video with the bundled ffmpeg 4.1. Each segment is trimmed to start_time/duration,
 * scaled and letterboxed to output_resolution ("720p", "1080p" or "WxH"), given a silent
 * track when the output has audio but the segment has none, then concatenated.
 * mp4 = H.264 + AAC (+faststart); webm = VP8 + Opus (ffmpeg 4.1 here has libvpx, libvpx-vp9,
 * libopus; VP8 with the realtime deadline is several times faster than VP9 for the same job).
 * A still image segment becomes a clip of its duration, optionally with a gentle camera move
 * (`effects.motion`, zoompan).
 *
 * Segment `effects` (generation/compose-effects.ts) are ffmpeg 4.1 filters: `fade_in`/`fade_out`
 * are `fade` on the picture and `afade` on the sound, `speed` is `setpts` (picture) and a chain
 * of `atempo` (sound; each one 0.5–2 in 4.1), `volume`/`mute` are `volume`. ffmpeg 4.1 has no
 * `xfade` (4.3), so `crossfade` lays the segments on a timeline instead of concatenating them:
 * each one is shifted to its start (setpts) over a black canvas of the output's length, and a
 * segment entered by a crossfade fades in through its alpha (`fade=alpha=1`) while the previous
 * one still plays under it (`overlay`); its sound joins with `acrossfade`. Without crossfades
 * the segments are concatenated as before.
 *
 * Runs in a private temp dir removed on every path; the child process has a wall-clock
 * limit, is killed on abort, and on exceeding the output-size cap.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { probeMedia, runFfmpeg, type MediaInfo } from "../media/ffmpeg.ts";
import { parseResolution, type Size } from "../media/sizes.ts";
import { withTempDir } from "../media/tempdir.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { parseComposeEffects, type SegmentEffects } from "../generation/compose-effects.ts";
import { motionFilter } from "../media/test-pattern-video.ts";
import { composePrice, priceFor } from "../pricing/estimate.ts";
import { safeProgress, type ProviderAdapter } from "./adapter.ts";
import { ProviderError, abortedError } from "./errors.ts";
import type { ProviderContext, ProviderRequest, ProviderResult } from "./types.ts";

export interface ComposeProviderOptions {
  /** x264 preset for mp4 (veryfast by default; tests use ultrafast). */
  x264Preset?: string;
  timeoutMs?: number;
  maxOutputBytes?: number;
  fps?: number;
}

interface Segment {
  asset_id: string;
  start_time: number;
  duration: number;
  effects?: Record<string, unknown>;
}

const EXT_BY_TYPE: Record<string, string> = {
  "video/mp4": "mp4",
  "video/webm": "webm",
  "video/quicktime": "mov",
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "audio/mpeg": "mp3",
  "audio/wav": "wav",
};

export class ComposeProvider implements ProviderAdapter {
  readonly name = "compose";
  constructor(private readonly options: ComposeProviderOptions = {}) {}

  async run(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult> {
    const segments = parseSegments(req.input.segments);
    const format = req.input.output_format === "webm" ? "webm" : "mp4";
    const size = outputSize(req.input.output_resolution, entry.maxResolution);
    const estimate = priceFor(entry, req.input);
    const fps = this.options.fps ?? 30;
    await safeProgress(ctx, 1);

    return withTempDir("compose", async (dir) => {
      const inputs: Array<{ file: string; info: MediaInfo; isImage: boolean; start: number; duration: number; speed: number }> = [];
      for (const [i, seg] of segments.entries()) {
        if (ctx.signal.aborted) throw abortedError(ctx.signal);
        const asset = await ctx.readAsset(seg.asset_id);
        const type = asset.contentType.split(";")[0]!.trim().toLowerCase();
        const isImage = type.startsWith("image/");
        if (!isImage && !type.startsWith("video/")) {
          throw new ProviderError("client", `Segment ${i} (asset ${seg.asset_id}) is ${type}; compose takes videos and images`, { code: "invalid_segment" });
        }
        const file = path.join(dir, `in${i}.${EXT_BY_TYPE[type] ?? "bin"}`);
        await fs.writeFile(file, asset.bytes);
        const info = await probeMedia(file, { signal: ctx.signal });
        if (!isImage && info.durationS !== null && seg.start_time >= info.durationS) {
          throw new ProviderError("client", `Segment ${i}: start_time ${seg.start_time} s is past the end of asset ${seg.asset_id} (${info.durationS} s)`, {
            code: "invalid_segment",
          });
        }
        // A segment cannot be longer than what its source has left after start_time (at its speed).
        const speed = typeof seg.effects?.speed === "number" && !isImage ? seg.effects.speed : 1;
        const duration = isImage || info.durationS === null ? seg.duration : Math.min(seg.duration, (info.durationS - seg.start_time) / speed);
        inputs.push({ file, info, isImage, start: seg.start_time, duration, speed });
      }
      // Effects checked again on the lengths the sources allow (submit checked the asked ones).
      const parsed = parseComposeEffects(segments.map((seg, i) => ({ duration: inputs[i]!.duration, effects: seg.effects, media: inputs[i]!.isImage ? "image" : "video" })));
      if ("problem" in parsed) throw new ProviderError("client", `${parsed.problem.message} (after trimming to the source's length)`, { code: "invalid_segment" });
      const effects = parsed.effects;
      const timeline = effects.some((e) => e.crossfade > 0);
      await safeProgress(ctx, 10);

      const withAudio = inputs.some((s) => !s.isImage && s.info.audioCodec !== null);
      const args: string[] = [];
      const filters: string[] = [];
      const concatPads: string[] = [];
      let nextInput = 0;
      // Where each segment starts in the output: a crossfade starts the next one that much earlier.
      const offsets: number[] = [];
      let total = 0;
      for (const [i, s] of inputs.entries()) {
        offsets.push(total);
        total += s.duration - (i < inputs.length - 1 ? effects[i]!.crossfade : 0);
      }
      for (const [i, s] of inputs.entries()) {
        const e = effects[i]!;
        const d = s.duration.toFixed(3);
        const source = (s.duration * s.speed).toFixed(3);
        if (s.isImage) args.push("-loop", "1", "-framerate", String(fps), "-t", d, "-i", s.file);
        else args.push("-ss", s.start.toFixed(3), "-t", source, "-i", s.file);
        const v = nextInput++;
        const incoming = i > 0 ? effects[i - 1]!.crossfade : 0;
        filters.push(`[${v}:v]${videoChain({ source, speed: s.speed, size, fps, duration: s.duration, effects: e, incoming, offset: timeline ? offsets[i]! : null, still: s.isImage })}[v${i}]`);
        if (!timeline) concatPads.push(`[v${i}]`);
        if (withAudio) {
          let a: string;
          if (!s.isImage && s.info.audioCodec !== null) a = `${v}:a`;
          else {
            args.push("-f", "lavfi", "-t", d, "-i", "anullsrc=r=48000:cl=stereo");
            a = `${nextInput++}:a`;
          }
          filters.push(`[${a}]${audioChain(s.speed, s.duration, e)}[a${i}]`);
          if (!timeline) concatPads.push(`[a${i}]`);
        }
      }
      if (!timeline) {
        filters.push(`${concatPads.join("")}concat=n=${inputs.length}:v=1:a=${withAudio ? 1 : 0}[v]${withAudio ? "[a]" : ""}`);
      } else {
        // A black canvas of the output's length; each segment is laid over it at its offset, later ones on top.
        args.push("-f", "lavfi", "-i", `color=c=black:s=${size.width}x${size.height}:r=${fps}:d=${total.toFixed(3)}`);
        let canvas = `${nextInput++}:v`;
        for (let i = 0; i < inputs.length; i++) {
          const last = i === inputs.length - 1;
          filters.push(`[${canvas}][v${i}]overlay=eof_action=pass${last ? ",format=yuv420p" : ""}[${last ? "v" : `o${i}`}]`);
          canvas = `o${i}`;
        }
        if (withAudio) {
          let acc = "a0";
          for (let i = 1; i < inputs.length; i++) {
            const c = effects[i - 1]!.crossfade;
            const next = i === inputs.length - 1 ? "a" : `ac${i}`;
            filters.push(c > 0 ? `[${acc}][a${i}]acrossfade=d=${c.toFixed(3)}:c1=tri:c2=tri[${next}]` : `[${acc}][a${i}]concat=n=2:v=0:a=1[${next}]`);
            acc = next;
          }
          if (inputs.length === 1) filters.push("[a0]anull[a]");
        }
      }
      const out = path.join(dir, `out.${format}`);
      const codec =
        format === "mp4"
          ? ["-c:v", "libx264", "-preset", this.options.x264Preset ?? "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart", ...(withAudio ? ["-c:a", "aac", "-b:a", "128k"] : [])]
          : ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", vp8Bitrate(size), "-pix_fmt", "yuv420p", ...(withAudio ? ["-c:a", "libopus", "-b:a", "96k"] : [])];
      const maxOutputBytes = this.options.maxOutputBytes ?? 1024 * 1024 * 1024;
      let lastPct = 10;
      const outputArgs = ["-map", "[v]", ...(withAudio ? ["-map", "[a]"] : []), ...codec, "-fs", String(maxOutputBytes), out];
      await runFfmpeg([...args, "-filter_complex", filters.join(";"), ...outputArgs], {
        signal: ctx.signal,
        timeoutMs: this.options.timeoutMs ?? 600_000,
        outputFile: out,
        maxOutputBytes,
        onProgress: (s) => {
          const pct = 10 + Math.floor(Math.min(1, s / total) * 85);
          if (pct >= lastPct + 5) {
            lastPct = pct;
            void safeProgress(ctx, pct);
          }
        },
      });
      const bytes = new Uint8Array(await fs.readFile(out));
      const info = await probeMedia(out, { signal: ctx.signal });
      const durationS = info.durationS ?? total;
      // Bill what was produced (whole seconds; 50 ms of container slack forgiven), never above the hold.
      const actual = composePrice(entry, Math.max(1, Math.ceil(durationS - 0.05)));
      await safeProgress(ctx, 100);
      return {
        outputs: [{ bytes, contentType: format === "mp4" ? "video/mp4" : "video/webm", width: size.width, height: size.height, durationS }],
        actualCostMicros: actual < estimate ? actual : estimate,
        nsfw: false,
      };
    });
  }

  async cancel(): Promise<void> {
    // Our own child process: aborting ctx.signal kills it.
  }
}

function parseSegments(value: unknown): Segment[] {
  if (!Array.isArray(value) || value.length === 0) throw new ProviderError("client", "segments must be a non-empty array", { code: "invalid_segment" });
  return value.map((raw, i) => {
    const s = raw as Record<string, unknown>;
    if (typeof s.asset_id !== "string" || typeof s.start_time !== "number" || typeof s.duration !== "number" || s.start_time < 0 || s.duration <= 0) {
      throw new ProviderError("client", `Segment ${i} needs asset_id, start_time >= 0 and duration > 0`, { code: "invalid_segment" });
    }
    const effects = s.effects && typeof s.effects === "object" ? { effects: s.effects as Record<string, unknown> } : {};
    return { asset_id: s.asset_id, start_time: s.start_time, duration: s.duration, ...effects };
  });
}

/** The picture of one segment: trimmed, re-timed, fitted to the output, moved (stills), faded; on the timeline, shifted to its start. */
function videoChain(o: { source: string; speed: number; size: Size; fps: number; duration: number; effects: SegmentEffects; incoming: number; offset: number | null; still: boolean }): string {
  const { size, fps, effects: e } = o;
  const parts = [`trim=duration=${o.source}`, o.speed === 1 ? "setpts=PTS-STARTPTS" : `setpts=(PTS-STARTPTS)/${o.speed}`];
  parts.push(`scale=${size.width}:${size.height}:force_original_aspect_ratio=decrease`, `pad=${size.width}:${size.height}:(ow-iw)/2:(oh-ih)/2:color=black`, "setsar=1");
  const camera = o.still ? motionFilter(e.motion, Math.round(o.duration * fps), size.width, size.height, fps) : null;
  if (camera) parts.push(camera, "setpts=PTS-STARTPTS");
  parts.push(`fps=${fps}`, "format=yuv420p");
  if (e.fadeIn > 0) parts.push(`fade=t=in:st=0:d=${e.fadeIn.toFixed(3)}`);
  if (e.fadeOut > 0) parts.push(`fade=t=out:st=${Math.max(0, o.duration - e.fadeOut).toFixed(3)}:d=${e.fadeOut.toFixed(3)}`);
  if (o.offset !== null) {
    // Entered by a crossfade: transparent at its start, opaque after `incoming` seconds, over the previous segment.
    if (o.incoming > 0) parts.push("format=yuva420p", `fade=t=in:st=0:d=${o.incoming.toFixed(3)}:alpha=1`);
    parts.push(`setpts=PTS+${o.offset.toFixed(3)}/TB`);
  }
  return parts.join(",");
}

/** The sound of one segment: re-timed without changing pitch, padded/cut to its length, gain, fades. */
function audioChain(speed: number, duration: number, e: SegmentEffects): string {
  const d = duration.toFixed(3);
  const parts = ["aresample=48000", "aformat=sample_fmts=fltp:channel_layouts=stereo", ...atempoChain(speed)];
  // Pad then cut audio to the video's length so the join stays in sync.
  parts.push("apad", `atrim=0:${d}`, "asetpts=PTS-STARTPTS");
  const gain = e.mute ? 0 : e.volume;
  if (gain !== 1) parts.push(`volume=${gain}`);
  if (e.fadeIn > 0) parts.push(`afade=t=in:st=0:d=${e.fadeIn.toFixed(3)}`);
  if (e.fadeOut > 0) parts.push(`afade=t=out:st=${Math.max(0, duration - e.fadeOut).toFixed(3)}:d=${e.fadeOut.toFixed(3)}`);
  return parts.join(",");
}

/** ffmpeg 4.1's atempo takes 0.5–2 per instance: 0.25–4 is a chain of at most two. */
export function atempoChain(speed: number): string[] {
  if (speed === 1) return [];
  const out: string[] = [];
  let rest = speed;
  while (rest > 2) {
    out.push("atempo=2");
    rest /= 2;
  }
  while (rest < 0.5) {
    out.push("atempo=0.5");
    rest /= 0.5;
  }
  out.push(`atempo=${Number(rest.toFixed(6))}`);
  return out;
}

/**
 * The output size for `output_resolution`, or why it is refused. Submit checks it (400
 * before anything is reserved) and the worker again (the catalog may have changed).
 */
export function composeOutputSize(value: unknown, maxResolution: string | null): Size | { refused: string } {
  const size = parseResolution(value ?? "1080p");
  if (!size) return { refused: `output_resolution ${String(value)} is not "720p", "1080p" or "WIDTHxHEIGHT"` };
  const max = parseResolution(maxResolution);
  if (max && (size.width * size.height > max.width * max.height || Math.max(size.width, size.height) > Math.max(max.width, max.height))) {
    return { refused: `output_resolution ${String(value)} is above the maximum ${maxResolution}` };
  }
  // H.264 / yuv420p need even dimensions.
  return { width: size.width - (size.width % 2), height: size.height - (size.height % 2) };
}

function outputSize(value: unknown, maxResolution: string | null): Size {
  const size = composeOutputSize(value, maxResolution);
  if ("refused" in size) throw new ProviderError("client", size.refused, { code: "invalid_resolution" });
  return size;
}

function vp8Bitrate(size: Size): string {
  const pixels = size.width * size.height;
  return pixels <= 640 * 360 ? "600k" : pixels <= 1280 * 720 ? "2M" : "4M";
}

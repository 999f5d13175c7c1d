/**
 * Offline video for local/video: ffmpeg lavfi sources only (testsrc2 background tinted by
 * a hue from the prompt hash, plus a moving colour box; no drawtext, which needs fonts),
 * H.264 yuv420p MP4 with +faststart, optional sine audio (AAC). Exactly `durationS` long.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { runFfmpeg } from "./ffmpeg.ts";
import { seedBytes } from "./procedural-png.ts";
import { withTempDir } from "./tempdir.ts";

export interface TestPatternVideoOptions {
  prompt: string;
  seed?: number | undefined;
  durationS: number;
  width: number;
  height: number;
  withAudio: boolean;
  fps?: number;
  /** x264 preset; ultrafast keeps local jobs and tests quick. */
  preset?: string;
  signal?: AbortSignal;
  timeoutMs: number;
  onProgress?: (fraction: number) => void;
}

export async function renderTestPatternVideo(o: TestPatternVideoOptions): Promise<Uint8Array> {
  const h = seedBytes("video", o.prompt, o.seed);
  const hue = Math.round((h[0]! / 255) * 360);
  const box = `0x${h.subarray(1, 4).toString("hex")}`;
  const fps = o.fps ?? 24;
  const d = o.durationS;
  const bw = evenAtLeast2(o.width / 4);
  const bh = evenAtLeast2(o.height / 4);
  const freq = 220 + (h[4]! % 64) * 10;
  return withTempDir("video", async (dir) => {
    const out = path.join(dir, "out.mp4");
    const args = [
      "-f", "lavfi", "-i", `testsrc2=s=${o.width}x${o.height}:r=${fps}:d=${d}`,
      "-f", "lavfi", "-i", `color=c=${box}:s=${bw}x${bh}:r=${fps}:d=${d}`,
      ...(o.withAudio ? ["-f", "lavfi", "-i", `sine=frequency=${freq}:sample_rate=44100:duration=${d}`] : []),
      "-filter_complex",
      `[0:v]hue=h=${hue}[bg];[bg][1:v]overlay=x='(W-w)*(0.5+0.5*sin(t*2))':y='(H-h)*(0.5+0.5*cos(t*3))':shortest=1,format=yuv420p[v]`,
      "-map", "[v]",
      ...(o.withAudio ? ["-map", "2:a", "-c:a", "aac", "-b:a", "96k"] : []),
      "-c:v", "libx264", "-preset", o.preset ?? "ultrafast", "-pix_fmt", "yuv420p",
      "-movflags", "+faststart", "-t", String(d), out,
    ];
    await runFfmpeg(args, {
      timeoutMs: o.timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: (s: number) => o.onProgress!(Math.min(1, s / d)) } : {}),
    });
    return new Uint8Array(await fs.readFile(out));
  });
}

function evenAtLeast2(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

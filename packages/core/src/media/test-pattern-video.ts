/**
 * Offline video for local/video: ffmpeg lavfi sources only (testsrc2 background tinted by
 * a hue from the prompt hash, plus a moving colour box; no drawtext, which needs fonts),
 * H.264 yuv420p MP4 with +faststart, optional sine audio (AAC). Exactly `durationS` long.
 * `motion` moves a virtual camera over the pattern (motionFilter): ffmpeg's zoompan, one output
 * frame per input frame, the window's position and zoom a function of the frame number.
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
  /** A camera move (MOTION_IDS); "static" or absent: none. */
  motion?: string | undefined;
}

/** How far the camera zooms in for zoom_in / zoom_out, and the zoom the pans and orbit work at. */
const MOTION_ZOOM = 0.3;
const PAN_ZOOM = 1.25;

/**
 * The zoompan filter (ffmpeg 4.1) for a camera move over `frames` frames of a WxH picture, or null
 * for none. `on` is the output frame number; x/y are the window's top-left in the input.
 * Shared by local/video and compose's still segments.
 */
export function motionFilter(motion: string | undefined, frames: number, width: number, height: number, fps: number): string | null {
  if (!motion || motion === "static") return null;
  const p = `(on/${Math.max(1, frames - 1)})`; // 0 → 1 over the clip
  const centre = { x: "iw/2-(iw/zoom/2)", y: "ih/2-(ih/zoom/2)" };
  let z: string, x: string, y: string;
  switch (motion) {
    case "zoom_in":
      [z, x, y] = [`1+${MOTION_ZOOM}*${p}`, centre.x, centre.y];
      break;
    case "zoom_out":
      [z, x, y] = [`${1 + MOTION_ZOOM}-${MOTION_ZOOM}*${p}`, centre.x, centre.y];
      break;
    case "pan_left": // the camera turns left: the window slides from the right edge to the left one
      [z, x, y] = [String(PAN_ZOOM), `(iw-iw/zoom)*(1-${p})`, centre.y];
      break;
    case "pan_right":
      [z, x, y] = [String(PAN_ZOOM), `(iw-iw/zoom)*${p}`, centre.y];
      break;
    case "orbit": // one full circle of the window around the centre
      [z, x, y] = [String(PAN_ZOOM), `(iw-iw/zoom)*(0.5+0.5*cos(2*PI*${p}))`, `(ih-ih/zoom)*(0.5+0.5*sin(2*PI*${p}))`];
      break;
    default:
      throw new Error(`Unknown motion ${motion}`);
  }
  return `zoompan=z='${z}':x='${x}':y='${y}':d=1:s=${width}x${height}:fps=${fps}`;
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
  const camera = motionFilter(o.motion, Math.round(d * fps), o.width, o.height, fps);
  return withTempDir("video", async (dir) => {
    const out = path.join(dir, "out.mp4");
    const args = [
      "-f", "lavfi", "-i", `testsrc2=s=${o.width}x${o.height}:r=${fps}:d=${d}`,
      "-f", "lavfi", "-i", `color=c=${box}:s=${bw}x${bh}:r=${fps}:d=${d}`,
      ...(o.withAudio ? ["-f", "lavfi", "-i", `sine=frequency=${freq}:sample_rate=44100:duration=${d}`] : []),
      "-filter_complex",
      `[0:v]hue=h=${hue}[bg];[bg][1:v]overlay=x='(W-w)*(0.5+0.5*sin(t*2))':y='(H-h)*(0.5+0.5*cos(t*3))':shortest=1,` +
        `${camera ? `${camera},` : ""}format=yuv420p[v]`,
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

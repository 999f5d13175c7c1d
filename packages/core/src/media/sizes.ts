/** Output sizes from the API's `aspect_ratio` / `resolution` strings. */

export const ASPECT_RATIOS: Record<string, [number, number]> = {
  "1:1": [1, 1],
  "16:9": [16, 9],
  "9:16": [9, 16],
  "4:3": [4, 3],
  "3:4": [3, 4],
};

export interface Size {
  width: number;
  height: number;
}

const NAMED: Record<string, Size> = {
  "360p": { width: 640, height: 360 },
  "480p": { width: 854, height: 480 },
  "720p": { width: 1280, height: 720 },
  "1080p": { width: 1920, height: 1080 },
  "1440p": { width: 2560, height: 1440 },
  "2160p": { width: 3840, height: 2160 },
  "4k": { width: 3840, height: 2160 },
};

/** "WxH" or a named size (720p, 1080p…) → Size, or null when it is neither. */
export function parseResolution(value: unknown): Size | null {
  if (typeof value !== "string") return null;
  const named = NAMED[value.toLowerCase()];
  if (named) return { ...named };
  const m = /^(\d{1,5})x(\d{1,5})$/i.exec(value.trim());
  if (!m) return null;
  const width = Number(m[1]);
  const height = Number(m[2]);
  return width >= 1 && height >= 1 ? { width, height } : null;
}

/**
 * Size for a request: explicit resolution wins, else aspect_ratio with `defaultLongSide`
 * on the long side. Always scaled down (keeping the ratio) to fit `maxLongSide`, and
 * rounded to even numbers because H.264/yuv420p needs even dimensions.
 */
export function sizeFor(input: { resolution?: unknown; aspect_ratio?: unknown }, defaultLongSide: number, maxLongSide: number): Size {
  let size = parseResolution(input.resolution);
  if (!size) {
    const [rw, rh] = ASPECT_RATIOS[String(input.aspect_ratio)] ?? [1, 1];
    size = rw >= rh ? { width: defaultLongSide, height: (defaultLongSide * rh) / rw } : { width: (defaultLongSide * rw) / rh, height: defaultLongSide };
  }
  const long = Math.max(size.width, size.height);
  const scale = long > maxLongSide ? maxLongSide / long : 1;
  return { width: even(size.width * scale), height: even(size.height * scale) };
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

/**
 * Deterministic procedural PNG: the pixels are a function of (prompt, seed, size) only,
 * so the same request gives identical bytes and any change gives a different image.
 * A few sine "plasma" waves whose frequencies, phases and palette come from a SHA-256
 * of the prompt and seed. Pure JS (pngjs), no network, ~tens of ms at 512x512.
 */
import { createHash } from "node:crypto";
import { PNG } from "pngjs";

export function seedBytes(...parts: Array<string | number | undefined>): Buffer {
  return createHash("sha256").update(parts.map((p) => String(p ?? "")).join("\u0000")).digest();
}

/**
 * What a trained character contributes to local/image (characters/train.ts): the dominant
 * colours of its references (the image is coloured through them, in order) and where their
 * subject sits (the pattern's centre). `key` (the character's fingerprint) is mixed into the
 * parameters so two characters with the same palette still differ.
 */
export interface ImageStyle {
  palette: Array<[number, number, number]>;
  center: [number, number];
  key: string;
}

export function renderProceduralPng(prompt: string, seed: number | undefined, width: number, height: number, style?: ImageStyle): Uint8Array {
  // Without a style the parameters (and so the bytes) are exactly those of earlier releases.
  const h = style ? seedBytes("image", prompt, seed, style.key) : seedBytes("image", prompt, seed);
  const b = (i: number) => h[i % h.length]! / 255; // 0..1 parameters from the hash
  const fx1 = 1 + b(0) * 8, fy1 = 1 + b(1) * 8, fx2 = 1 + b(2) * 6, fy2 = 1 + b(3) * 6, fr = 2 + b(4) * 10;
  const p1 = b(5) * Math.PI * 2, p2 = b(6) * Math.PI * 2, p3 = b(7) * Math.PI * 2;
  const base = [b(8), b(9), b(10)], tint = [b(11), b(12), b(13)];
  const cx = style ? clamp01(style.center[0]) : 0.2 + b(14) * 0.6, cy = style ? clamp01(style.center[1]) : 0.2 + b(15) * 0.6;
  const stops = style && style.palette.length ? paletteStops(style.palette) : null;

  const png = new PNG({ width, height, colorType: 6 });
  const data = png.data;
  for (let y = 0; y < height; y++) {
    const v = y / height;
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const r = Math.hypot(u - cx, v - cy);
      const w = (Math.sin(u * fx1 * Math.PI + p1) + Math.sin(v * fy1 * Math.PI + p2) + Math.sin((u * fx2 + v * fy2) * Math.PI) + Math.sin(r * fr * Math.PI + p3)) / 4;
      const t = (w + 1) / 2; // 0..1
      const i = (y * width + x) * 4;
      if (stops) {
        // Through the palette's stops: every pixel is a blend of two neighbouring dominant colours.
        const pos = t * (stops.length - 1);
        const k = Math.min(stops.length - 2, Math.floor(pos));
        const f = pos - k;
        const lo = stops[k]!, hi = stops[k + 1]!;
        for (let c = 0; c < 3; c++) data[i + c] = Math.round(lo[c]! * (1 - f) + hi[c]! * f);
      } else {
        for (let c = 0; c < 3; c++) {
          data[i + c] = Math.round(255 * (base[c]! * (1 - t) + tint[c]! * t));
        }
      }
      data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5);

/** At least two stops: a one-colour palette runs from a darker to a lighter shade of it. */
function paletteStops(palette: Array<[number, number, number]>): Array<[number, number, number]> {
  const clean = palette.map((c) => c.map((v) => Math.min(255, Math.max(0, Math.round(v)))) as [number, number, number]);
  if (clean.length > 1) return clean;
  const [r, g, b] = clean[0]!;
  return [[r * 0.6, g * 0.6, b * 0.6], [r, g, b], [r + (255 - r) * 0.3, g + (255 - g) * 0.3, b + (255 - b) * 0.3]];
}

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

export function renderProceduralPng(prompt: string, seed: number | undefined, width: number, height: number): Uint8Array {
  const h = seedBytes("image", prompt, seed);
  const b = (i: number) => h[i % h.length]! / 255; // 0..1 parameters from the hash
  const fx1 = 1 + b(0) * 8, fy1 = 1 + b(1) * 8, fx2 = 1 + b(2) * 6, fy2 = 1 + b(3) * 6, fr = 2 + b(4) * 10;
  const p1 = b(5) * Math.PI * 2, p2 = b(6) * Math.PI * 2, p3 = b(7) * Math.PI * 2;
  const base = [b(8), b(9), b(10)], tint = [b(11), b(12), b(13)];
  const cx = 0.2 + b(14) * 0.6, cy = 0.2 + b(15) * 0.6;

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
      for (let c = 0; c < 3; c++) {
        data[i + c] = Math.round(255 * (base[c]! * (1 - t) + tint[c]! * t));
      }
      data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

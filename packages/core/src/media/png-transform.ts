/**
 * The prism pixel ops over RGBA with pngjs: a pure, synchronous loop over every pixel.
 * A running server calls it only inside the render pool's worker threads (media/render-pool.ts).
 */
import { PNG } from "pngjs";
import type { TransformOp } from "../prisms/catalog.ts";

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

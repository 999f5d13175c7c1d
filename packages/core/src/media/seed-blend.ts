/**
 * local/image's `seed_image_url`: the seed image (decoded PNG) is resampled to the output size
 * and blended under the procedural pattern, so the output visibly follows the seed's colours
 * and layout while staying a local stand-in. Pure and synchronous: it runs in the render pool.
 */
import { PNG } from "pngjs";

/** How much of the seed shows through (the rest is the prompt's pattern). */
export const SEED_IMAGE_WEIGHT = 0.65;

export function blendSeedImage(patternPng: Uint8Array, seedPng: Uint8Array, weight = SEED_IMAGE_WEIGHT): Uint8Array {
  const out = PNG.sync.read(Buffer.from(patternPng));
  const seed = PNG.sync.read(Buffer.from(seedPng));
  const { width, height, data } = out;
  for (let y = 0; y < height; y++) {
    // Bilinear sample of the seed at this output pixel's centre.
    const sy = Math.min(seed.height - 1, Math.max(0, ((y + 0.5) * seed.height) / height - 0.5));
    const y0 = Math.floor(sy), y1 = Math.min(seed.height - 1, y0 + 1), fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(seed.width - 1, Math.max(0, ((x + 0.5) * seed.width) / width - 0.5));
      const x0 = Math.floor(sx), x1 = Math.min(seed.width - 1, x0 + 1), fx = sx - x0;
      const i = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) {
        const at = (xx: number, yy: number) => {
          const k = (yy * seed.width + xx) * 4;
          // Transparent seed pixels count as black at their alpha.
          return (seed.data[k + c]! * seed.data[k + 3]!) / 255;
        };
        const top = at(x0, y0) * (1 - fx) + at(x1, y0) * fx;
        const bottom = at(x0, y1) * (1 - fx) + at(x1, y1) * fx;
        const s = top * (1 - fy) + bottom * fy;
        data[i + c] = Math.round(s * weight + data[i + c]! * (1 - weight));
      }
      data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(out));
}

/**
 * What local character training learns from one reference image (run in the render pool:
 * decoding and pixel loops are CPU-bound): its average colour, its dominant colours and where
 * its subject sits. Everything is coarse on purpose (colours quantised, positions to two
 * decimals): the artifact is readable by the caller and must not confirm the fetched bytes
 * (docs/ARCHITECTURE.md, Outbound fetches), only describe the picture.
 */
import { PNG } from "pngjs";

export interface ReferenceAnalysis {
  mean_rgb: [number, number, number];
  /** Up to 4 dominant colours, most frequent first, with their share of the picture (0..1). */
  colours: Array<{ rgb: [number, number, number]; weight: number }>;
  /** Centre of what stands out from the average colour, as fractions of width and height. */
  center: [number, number];
}

/** Sampled on a grid of at most this many pixels for the histogram (the mean uses every pixel). */
const SAMPLE_TARGET = 65_536;

export function analyzeReferencePng(bytes: Uint8Array): ReferenceAnalysis | null {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    return null;
  }
  const { width, height, data } = png;
  const n = width * height;
  if (n === 0) return null;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < n * 4; i += 4) {
    r += data[i]!;
    g += data[i + 1]!;
    b += data[i + 2]!;
  }
  const mean: [number, number, number] = [Math.round(r / n), Math.round(g / n), Math.round(b / n)];

  // 4 bits a channel: 4096 bins, each keeping the sum of its colours for a true average.
  const step = Math.max(1, Math.floor(Math.sqrt(n / SAMPLE_TARGET)));
  const bins = new Map<number, { count: number; r: number; g: number; b: number }>();
  let sampled = 0, sx = 0, sy = 0, sw = 0;
  for (let y = 0; y < height; y += step) {
    for (let x = 0; x < width; x += step) {
      const i = (y * width + x) * 4;
      const pr = data[i]!, pg = data[i + 1]!, pb = data[i + 2]!;
      const key = ((pr >> 4) << 8) | ((pg >> 4) << 4) | (pb >> 4);
      const bin = bins.get(key) ?? { count: 0, r: 0, g: 0, b: 0 };
      bin.count++;
      bin.r += pr;
      bin.g += pg;
      bin.b += pb;
      bins.set(key, bin);
      sampled++;
      const w = Math.abs(pr - mean[0]) + Math.abs(pg - mean[1]) + Math.abs(pb - mean[2]);
      sx += w * (x + 0.5);
      sy += w * (y + 0.5);
      sw += w;
    }
  }
  const colours = [...bins.values()]
    .sort((p, q) => q.count - p.count)
    .slice(0, 4)
    .map((bin) => ({ rgb: [Math.round(bin.r / bin.count), Math.round(bin.g / bin.count), Math.round(bin.b / bin.count)] as [number, number, number], weight: round2(bin.count / sampled) }));
  const center: [number, number] = sw > 0 ? [round2(sx / sw / width), round2(sy / sw / height)] : [0.5, 0.5];
  return { mean_rgb: mean, colours, center };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

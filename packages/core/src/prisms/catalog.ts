/**
 * The static, versioned prism catalog (`data/prisms.v1.json`): one-click recipes.
 * A recipe rewrites generation params (prompt prefix/suffix, negative prompt,
 * default model and parameters) and carries an offline transform for stored assets
 * (pixel ops for images via pngjs, the same ops as ffmpeg filters for video, an
 * ffmpeg audio filter chain for audio).
 */
import { readFileSync } from "node:fs";
import { ApiError } from "../errors.ts";
import { resourcePath } from "../resources.ts";

export const BUNDLED_PRISMS_FILE = resourcePath("packages/core/data/prisms.v1.json", new URL("../../data/prisms.v1.json", import.meta.url));

export type PrismMedia = "image" | "video" | "audio";

export type TransformOp =
  | { op: "grayscale" }
  | { op: "sepia" }
  | { op: "contrast"; amount: number }
  | { op: "brightness"; amount: number }
  | { op: "saturate"; amount: number }
  | { op: "posterize"; levels: number }
  | { op: "vignette"; strength: number }
  | { op: "tint"; color: [number, number, number]; amount: number };

export interface PrismRecipe {
  prompt_prefix?: string;
  prompt_suffix?: string;
  negative_prompt?: string;
  default_models?: Partial<Record<PrismMedia, string>>;
  parameters?: Record<string, unknown>;
  transform?: TransformOp[];
  audio_filter?: string;
}

export interface PrismDefinition {
  id: string;
  name: string;
  description: string;
  category: string;
  compatible_with: PrismMedia[];
  preview_url?: string;
  recipe: PrismRecipe;
}

let cached: PrismDefinition[] | undefined;

export function loadPrisms(file = BUNDLED_PRISMS_FILE): PrismDefinition[] {
  const raw = JSON.parse(readFileSync(file, "utf8")) as { version: number; prisms: PrismDefinition[] };
  if (raw.version !== 1 || !Array.isArray(raw.prisms)) throw new Error(`${file}: not a version 1 prism catalog`);
  return raw.prisms;
}

export function allPrisms(): PrismDefinition[] {
  cached ??= loadPrisms();
  return cached;
}

export function findPrism(id: string): PrismDefinition | undefined {
  return allPrisms().find((p) => p.id === id);
}

/** 404 `not_found` for an unknown id (the path names it). */
export function requirePrism(id: string): PrismDefinition {
  const prism = findPrism(id);
  if (!prism) throw new ApiError(404, "prism_not_found", `Prism ${id} does not exist`, { field: "path.id" });
  return prism;
}

export function listPrisms(filter: { category?: string | undefined; compatible_with?: PrismMedia | undefined }): PrismDefinition[] {
  return allPrisms().filter((p) => (!filter.category || p.category === filter.category) && (!filter.compatible_with || p.compatible_with.includes(filter.compatible_with)));
}

/** The spec's Prism body (the recipe stays server-side). */
export function toPrismBody(p: PrismDefinition) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    category: p.category,
    compatible_with: p.compatible_with,
    ...(p.preview_url ? { preview_url: p.preview_url } : {}),
  };
}

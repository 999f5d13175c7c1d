/**
 * Prism previews: one small file per prism (PNG for prisms that take images, else MP4 for video,
 * WAV for audio), rendered at build time by the local models — a fixed prompt through the
 * recipe, then the recipe's offline transform — by `packages/core/scripts/render-prism-previews.ts`
 * into `packages/core/data/prism-previews/`, committed. So they are what the prism does to a
 * local stand-in, and say so (the catalog's descriptions are of the real look).
 *
 * `manifest.json` records, per prism, the file, its SHA-256 and the SHA-256 of everything the
 * rendering read (recipe, prompt, renderer version): a test fails when a recipe changed without
 * its preview being rendered again, or a file is missing or altered. The server serves the files
 * at `GET /prism-previews/{file}` (public, outside the API contract) and `GET /v1/prisms` links
 * them as `preview_url`.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { resourcePath } from "../resources.ts";
import { renderProceduralPng } from "../media/procedural-png.ts";
import { renderTestPatternVideo } from "../media/test-pattern-video.ts";
import { synthesizeToneSpeech } from "../media/wav.ts";
import { sizeFor } from "../media/sizes.ts";
import { inlineRenderer } from "../media/render-pool.ts";
import { applyRecipe } from "./recipe.ts";
import { transformAsset } from "./transform.ts";
import type { PrismDefinition, PrismMedia } from "./catalog.ts";

export const PRISM_PREVIEWS_DIR = resourcePath("packages/core/data/prism-previews", new URL("../../data/prism-previews/", import.meta.url));
export const PRISM_PREVIEWS_MANIFEST = path.join(PRISM_PREVIEWS_DIR, "manifest.json");

/** Bump when the rendering below changes, so every preview counts as stale. */
export const PREVIEW_RENDERER_VERSION = 1;
export const PREVIEW_PROMPT = "a lighthouse on a cliff above the sea";
export const PREVIEW_SEED = 7;
export const PREVIEW_TEXT = "This is a preview of the prism, spoken by the offline voice.";
/** Long side of image and video previews: small files. */
export const PREVIEW_LONG_SIDE = 192;
export const PREVIEW_VIDEO_SECONDS = 1;

const CONTENT_TYPE: Record<PrismMedia, string> = { image: "image/png", video: "video/mp4", audio: "audio/wav" };
const EXT: Record<PrismMedia, string> = { image: "png", video: "mp4", audio: "wav" };

export interface PreviewManifestEntry {
  file: string;
  content_type: string;
  sha256: string;
  inputs_sha256: string;
}
export type PreviewManifest = Record<string, PreviewManifestEntry>;

/** The media a prism's preview shows: image when it takes images, else video, else audio. */
export function previewMedia(prism: PrismDefinition): PrismMedia {
  return (["image", "video", "audio"] as const).find((m) => prism.compatible_with.includes(m)) ?? "image";
}

export function previewFileName(prism: PrismDefinition): string {
  return `${prism.id}.${EXT[previewMedia(prism)]}`;
}

export const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/** Everything a preview is rendered from; when it changes the preview is stale. */
export function previewInputsHash(prism: PrismDefinition): string {
  return sha256(
    JSON.stringify({
      v: PREVIEW_RENDERER_VERSION,
      media: previewMedia(prism),
      recipe: prism.recipe,
      prompt: PREVIEW_PROMPT,
      seed: PREVIEW_SEED,
      text: PREVIEW_TEXT,
      side: PREVIEW_LONG_SIDE,
      seconds: PREVIEW_VIDEO_SECONDS,
    }),
  );
}

/** Renders one prism's preview with the local models (inline: this is a build step, not a request). */
export async function renderPrismPreview(prism: PrismDefinition, signal: AbortSignal = new AbortController().signal): Promise<{ file: string; contentType: string; bytes: Uint8Array }> {
  const media = previewMedia(prism);
  const renderer = inlineRenderer();
  let source: { bytes: Uint8Array; contentType: string };
  if (media === "audio") {
    source = { bytes: synthesizeToneSpeech(PREVIEW_TEXT).bytes, contentType: "audio/wav" };
  } else {
    const params = applyRecipe(prism, media, { model: `local/${media}`, prompt: PREVIEW_PROMPT });
    const aspect = (params as { aspect_ratio?: unknown }).aspect_ratio ?? prism.recipe.parameters?.aspect_ratio;
    const { width, height } = sizeFor({ aspect_ratio: aspect }, PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE);
    source =
      media === "image"
        ? { bytes: renderProceduralPng(params.prompt, PREVIEW_SEED, width, height), contentType: "image/png" }
        : {
            bytes: await renderTestPatternVideo({ prompt: params.prompt, seed: PREVIEW_SEED, durationS: PREVIEW_VIDEO_SECONDS, width, height, withAudio: false, fps: 12, timeoutMs: 60_000, signal }),
            contentType: "video/mp4",
          };
  }
  const out = await transformAsset(prism, source, signal, renderer);
  return { file: previewFileName(prism), contentType: CONTENT_TYPE[media], bytes: out.bytes };
}

let manifestCache: PreviewManifest | null | undefined;

/** The committed manifest, or null when the folder is absent (e.g. a bundle built without it). */
export function loadPreviewManifest(file = PRISM_PREVIEWS_MANIFEST): PreviewManifest | null {
  if (file === PRISM_PREVIEWS_MANIFEST && manifestCache !== undefined) return manifestCache;
  const manifest = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as PreviewManifest) : null;
  if (file === PRISM_PREVIEWS_MANIFEST) manifestCache = manifest;
  return manifest;
}

/** The preview file of a prism when it exists and is current for its recipe; null otherwise. */
export function previewOf(prism: PrismDefinition): PreviewManifestEntry | null {
  const entry = loadPreviewManifest()?.[prism.id];
  if (!entry || entry.inputs_sha256 !== previewInputsHash(prism)) return null;
  return existsSync(path.join(PRISM_PREVIEWS_DIR, entry.file)) ? entry : null;
}

/** A served preview file by its name (only names the manifest lists: no path from the request reaches the disk). */
export function previewFile(name: string): { path: string; contentType: string } | null {
  const manifest = loadPreviewManifest();
  const entry = manifest && Object.values(manifest).find((e) => e.file === name);
  if (!entry) return null;
  const file = path.join(PRISM_PREVIEWS_DIR, entry.file);
  return existsSync(file) ? { path: file, contentType: entry.content_type } : null;
}

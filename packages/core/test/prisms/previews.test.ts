/**
 * Every prism has its committed preview (data/prism-previews/, rendered by
 * scripts/render-prism-previews.ts with the local models), and the files are current: the
 * manifest's recipe hash matches today's recipe, the bytes match the manifest, and PNG previews
 * (pure JS, deterministic) render to exactly the committed bytes. A failure here means: run
 * `npx tsx scripts/render-prism-previews.ts` in packages/core and commit the folder.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadPrisms } from "../../src/prisms/catalog.ts";
import { PRISM_PREVIEWS_DIR, loadPreviewManifest, previewFileName, previewInputsHash, previewMedia, previewOf, renderPrismPreview, sha256 } from "../../src/prisms/previews.ts";

const prisms = loadPrisms();
const manifest = loadPreviewManifest() ?? {};

describe("prism previews", () => {
  it("the catalog has at least 12 prisms, at least 3 for each of image, video and audio", () => {
    expect(prisms.length).toBeGreaterThanOrEqual(12);
    for (const media of ["image", "video", "audio"] as const) expect(prisms.filter((p) => p.compatible_with.includes(media)).length, media).toBeGreaterThanOrEqual(3);
    expect(new Set(prisms.map((p) => p.id)).size).toBe(prisms.length);
  });

  it.each(prisms.map((p) => [p.id, p] as const))("%s has a current preview", (_id, prism) => {
    const entry = manifest[prism.id];
    expect(entry, `no preview for ${prism.id}: render the previews`).toBeDefined();
    expect(entry!.file).toBe(previewFileName(prism));
    expect(entry!.inputs_sha256, `the preview of ${prism.id} is stale: render the previews`).toBe(previewInputsHash(prism));
    const bytes = readFileSync(path.join(PRISM_PREVIEWS_DIR, entry!.file));
    expect(sha256(bytes)).toBe(entry!.sha256);
    expect(bytes.byteLength).toBeLessThan(256 * 1024); // small files
    expect(previewOf(prism)).toEqual(entry);
  });

  it("PNG previews render to exactly the committed bytes", async () => {
    for (const prism of prisms.filter((p) => previewMedia(p) === "image")) {
      const rendered = await renderPrismPreview(prism);
      expect(sha256(rendered.bytes), prism.id).toBe(manifest[prism.id]!.sha256);
    }
  });

  it("the folder holds only the manifest and listed previews", () => {
    const listed = new Set([...Object.values(manifest).map((e) => e.file), "manifest.json"]);
    expect(readdirSync(PRISM_PREVIEWS_DIR).filter((f) => !listed.has(f))).toEqual([]);
    expect(Object.keys(manifest).sort()).toEqual(prisms.map((p) => p.id).sort());
  });
});

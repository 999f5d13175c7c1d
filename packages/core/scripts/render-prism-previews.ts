/**
 * Renders every prism's preview with the local models into packages/core/data/prism-previews/
 * (small PNG / MP4 / WAV) and writes its manifest.json (src/prisms/previews.ts). Run after
 * changing data/prisms.v1.json and commit the folder; test/prisms/previews.test.ts fails while
 * a preview is missing or stale. Run: `npx tsx scripts/render-prism-previews.ts` in packages/core
 * (`--check` only reports what is stale, exit 1 if anything is).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadPrisms } from "../src/prisms/catalog.ts";
import { PRISM_PREVIEWS_DIR, PRISM_PREVIEWS_MANIFEST, loadPreviewManifest, previewInputsHash, renderPrismPreview, sha256, type PreviewManifest } from "../src/prisms/previews.ts";

const check = process.argv.includes("--check");
const prisms = loadPrisms();
const old = loadPreviewManifest() ?? {};
const stale = prisms.filter((p) => old[p.id]?.inputs_sha256 !== previewInputsHash(p));
if (check) {
  for (const p of stale) console.log(`stale: ${p.id}`);
  process.exit(stale.length ? 1 : 0);
}
mkdirSync(PRISM_PREVIEWS_DIR, { recursive: true });
const manifest: PreviewManifest = {};
for (const prism of prisms) {
  const preview = await renderPrismPreview(prism);
  writeFileSync(path.join(PRISM_PREVIEWS_DIR, preview.file), preview.bytes);
  manifest[prism.id] = { file: preview.file, content_type: preview.contentType, sha256: sha256(preview.bytes), inputs_sha256: previewInputsHash(prism) };
  console.log(`${prism.id}: ${preview.file} (${preview.bytes.byteLength} bytes)`);
}
// Files of prisms that no longer exist go.
const keep = new Set([...Object.values(manifest).map((e) => e.file), "manifest.json"]);
for (const name of readdirSync(PRISM_PREVIEWS_DIR)) if (!keep.has(name)) rmSync(path.join(PRISM_PREVIEWS_DIR, name));
writeFileSync(PRISM_PREVIEWS_MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);

// The published `@aeriox/cli`: one ESM bundle of the CLI with the workspace packages
// (core, server, worker, sdk) inlined and npm dependencies left external, plus the
// files they read at run time (spec, migrations, catalog data) under dist/resources.
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { defineConfig } from "tsup";
// The spec reader of @aeriox/contract, by path: the config is bundled by esbuild, which inlines it.
import { readDocumentFile } from "../contract/src/document.ts";

const root = path.resolve(import.meta.dirname, "../..");
// GET /docs serves Scalar's standalone browser bundle (packages/server/src/http/docs-page.ts):
// copied from the server's dependency so the installed CLI works offline without installing Scalar.
const scalarMain = createRequire(path.join(root, "packages/server/package.json")).resolve("@scalar/api-reference");
const vendored: Array<[from: string, to: string]> = [[path.join(path.dirname(scalarMain), "browser/standalone.js"), "vendor/scalar-api-reference.js"]];
const resources = ["spec/aeriox.openapi.yaml", "packages/core/prisma/migrations", "packages/core/data/catalog.v1.json", "packages/core/data/prisms.v1.json", "packages/core/data/prism-previews", "packages/core/data/cards.global.v1.json"];

export default defineConfig({
  // The render pool's worker threads load their own entry, found beside the pool's chunk at run time.
  entry: { bin: "src/bin.ts", "render-worker": "../core/src/media/render-worker.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  outDir: "dist",
  clean: true,
  splitting: true,
  noExternal: [/^@aeriox\//],
  banner: {
    js: [
      'import { fileURLToPath as __aerioxPath } from "node:url";',
      'globalThis.__AERIOX_RESOURCES__ = __aerioxPath(new URL("./resources/", import.meta.url));',
    ].join("\n"),
  },
  async onSuccess() {
    for (const file of resources) {
      const target = path.join(import.meta.dirname, "dist/resources", file);
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(path.join(root, file), target, { recursive: true });
    }
    // The spec also as JSON, which the server reads instead of the YAML (packages/server/src/spec.ts: start-up time).
    const spec = readDocumentFile(path.join(root, "spec/aeriox.openapi.yaml"));
    writeFileSync(path.join(import.meta.dirname, "dist/resources/spec/aeriox.openapi.json"), JSON.stringify(spec));
    for (const [from, to] of vendored) {
      const target = path.join(import.meta.dirname, "dist/resources", to);
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(from, target);
    }
  },
});

// Publish build: readable ESM + CJS + .d.ts in dist/ (tree-shakeable: no side effects, one entry).
// A second, minified ESM build goes to .size/ (not published) so scripts/size.mjs can report the
// core's min+gzip size.
import { defineConfig } from "tsup";

const common = {
  entry: { index: "src/index.ts" },
  target: "es2022",
  platform: "neutral" as const,
  treeshake: true,
  // `node:fs/promises` is imported lazily by JobResult.save only.
  external: ["node:fs/promises"],
};

export default defineConfig([
  { ...common, format: ["esm", "cjs"], outDir: "dist", dts: true, sourcemap: true, clean: true, splitting: false },
  { ...common, format: ["esm"], outDir: ".size", minify: true, dts: false, sourcemap: false, clean: true },
]);

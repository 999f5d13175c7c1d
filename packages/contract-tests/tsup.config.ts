// Publish build: ESM + .d.ts in dist/ (the library and the `aeriox-contract-test` bin), with the
// OpenAPI document the suite checks against copied beside them (dist/aeriox.openapi.yaml).
import { cpSync } from "node:fs";
import path from "node:path";
import { defineConfig } from "tsup";

const root = path.resolve(import.meta.dirname, "../..");

export default defineConfig({
  entry: { index: "src/index.ts", command: "src/command.ts", bin: "src/bin.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  outDir: "dist",
  dts: { entry: { index: "src/index.ts" } },
  sourcemap: true,
  clean: true,
  splitting: true,
  // @aeriox/contract (the spec reader) is a private workspace package: inlined into the bundle.
  noExternal: [/^@aeriox\/contract/],
  async onSuccess() {
    cpSync(path.join(root, "spec/aeriox.openapi.yaml"), path.join(import.meta.dirname, "dist/aeriox.openapi.yaml"));
  },
});

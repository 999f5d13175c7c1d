// Code generation for the typed client, driven entirely by the OpenAPI contract.
// `pnpm --filter @aeriox/sdk gen` rewrites src/generated; CI (root `pnpm gen:check`) fails on drift.
import { defineConfig } from "@hey-api/openapi-ts";

export default defineConfig({
  input: "../../spec/aeriox.openapi.yaml",
  output: {
    path: "src/generated",
    // `.ts` specifiers match the hand-written src (allowImportingTsExtensions) and tsup resolves them.
    module: { extension: ".ts" },
    // No formatter: output must be byte-identical on every machine without extra tools.
    postProcess: [],
    tsConfigPath: "./tsconfig.json",
  },
  // Logs would otherwise land in the package folder on errors.
  logs: { level: "warn", file: false },
  plugins: [
    "@hey-api/client-fetch",
    "@hey-api/typescript",
    // throwOnError: our wrapper turns non-2xx into AerioxError subclasses itself, so the
    // generated functions are called with a custom fetch and return `{ data, response }`.
    { name: "@hey-api/sdk" },
  ],
});

// One lint config for the whole workspace: `pnpm lint` (turbo runs `eslint .` in each package).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import { createNodeResolver, importX } from "eslint-plugin-import-x";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/.size/**", "**/generated/**", "**/node_modules/**", "**/.aeriox/**", "**/coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Shipped code is typed: an untyped JSON document is @aeriox/contract's `Schema`, the one place it is allowed.
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    // No import circles (docs/ARCHITECTURE.md, Package layout). Type-only imports do not count: they vanish
    // at run time. Specifiers carry their `.ts` extension, and workspace packages resolve through their
    // package.json exports (the `types`/`import` conditions, like TypeScript).
    files: ["**/*.{ts,mts,cts,js,mjs,cjs}"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".mts", ".d.ts", ".js", ".mjs", ".cjs", ".json", ".node"], conditionNames: ["types", "import", "node", "default"] })],
      "import-x/extensions": [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts", ".mts", ".cts"] },
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      // Another package is reached through its package.json exports only (e.g. `@aeriox/core/wallet`),
      // never by a path into its folders.
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@aeriox/*/src", "@aeriox/*/src/**", "@aeriox/*/test", "@aeriox/*/test/**"], message: "Import the package's public subpath (its package.json exports), not its files." },
          ],
        },
      ],
    },
  },
  {
    // A package's source reaches another package only by its name, never by a relative path into its folder.
    // (Other packages' tests use the server's helpers through @aeriox/server/testing.)
    files: ["packages/*/src/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@aeriox/*/src", "@aeriox/*/src/**", "@aeriox/*/test", "@aeriox/*/test/**"], message: "Import the package's public subpath (its package.json exports), not its files." },
            { regex: "^(\\.\\./)+(packages/)?(core|server|worker|cli|sdk|contract-tests)/", message: "Import the package (@aeriox/...) through its exports, not a relative path into its folder." },
          ],
        },
      ],
    },
  },
  {
    // Scripts and tests talk to the terminal.
    files: ["scripts/**", "**/scripts/**", "**/test/**", "examples/**"],
    rules: { "no-console": "off" },
  },
  {
    // Tests read arbitrary JSON answers; a cast to an exact type is not always worth writing there.
    files: ["**/test/**"],
    rules: { "@typescript-eslint/no-explicit-any": "warn" },
  },
);

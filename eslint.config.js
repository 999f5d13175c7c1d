// One lint config for the whole workspace: `pnpm lint` (turbo runs `eslint .` in each package).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/.size/**", "**/generated/**", "**/node_modules/**", "**/.aeriox/**", "**/coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/no-explicit-any": "warn",
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    // Scripts and tests talk to the terminal.
    files: ["scripts/**", "**/scripts/**", "**/test/**", "examples/**"],
    rules: { "no-console": "off" },
  },
);

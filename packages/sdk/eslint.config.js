// The workspace's lint config, stricter for the SDK: no `any` outside generated code (ignored by the
// shared config), so every call stays typed by the spec down to the generated functions.
import shared from "../../eslint.config.js";

export default [
  ...shared,
  {
    files: ["**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "error" },
  },
];

#!/usr/bin/env node
// Regenerates everything derived from spec/ and the Prisma schema, in one command.
// `--check` regenerates and fails when the committed output differs (CI's drift gate).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: "inherit" });

const outputs = ["packages/contract/src/generated", "packages/sdk/src/generated", "packages/core/src/db/generated"];

// Types of the spec for the server (and anyone else): @aeriox/contract/api.
run("pnpm", ["exec", "openapi-typescript", "spec/aeriox.openapi.yaml", "-o", "packages/contract/src/generated/api.d.ts", "--alphabetize", "--root-types"]);
// The SDK's hey-api client (it replaces src/generated), then its operation map from the x-aeriox-sdk extensions.
run("pnpm", ["--filter", "@aeriox/sdk", "run", "--if-present", "gen"]);
run("pnpm", ["exec", "tsx", "packages/sdk/scripts/gen-operations.ts"]);
run("pnpm", ["--filter", "@aeriox/core", "run", "--if-present", "gen"]);

if (check) {
  const status = execFileSync("git", ["status", "--porcelain", "--", ...outputs], { cwd: root, encoding: "utf8" });
  if (status.trim()) {
    console.error("Generated code is out of date. Run `pnpm gen` and commit:\n" + status);
    process.exit(1);
  }
  console.log("gen: no drift");
}

#!/usr/bin/env node
// `pnpm start`: runs the built CLI (`packages/cli/dist`, the same bundle that is
// published) so start-up time and memory are the product's, not tsx's. The bundle is
// rebuilt first (tsup, a few seconds) when it is missing or older than any source it
// is made from; otherwise it starts at once. Arguments pass through: `pnpm start -- --port 9000`.
import { spawn, execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bundle = path.join(root, "packages/cli/dist/bin.js");
const sources = ["packages/core/src", "packages/core/data", "packages/core/prisma", "packages/server/src", "packages/worker/src", "packages/cli/src", "packages/sdk/src", "packages/cli/tsup.config.ts", "spec/aeriox.openapi.yaml"];

function newestMtime(entry) {
  const stat = statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

const built = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (built < Math.max(...sources.map((s) => newestMtime(path.join(root, s))))) {
  console.error(built ? "aeriox: sources changed, rebuilding the CLI bundle…" : "aeriox: building the CLI bundle (first start only)…");
  execFileSync("pnpm", ["--filter", "@aeriox/cli", "run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
}

const child = spawn(process.execPath, [bundle, "serve", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
// Ctrl-C already reaches the server (same process group), and a second signal may mean
// "stop now" to it: SIGINT is only awaited here; SIGTERM (sent to this process alone) is passed on.
process.on("SIGINT", () => undefined);
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

#!/usr/bin/env node
// `pnpm start`: runs the built CLI (`packages/cli/dist`, the same bundle that is
// published) so start-up time and memory are the product's, not tsx's. The bundle is
// rebuilt first (tsup, a few seconds) when it is missing or older than any source it
// is made from (scripts/cli-bundle.mjs); otherwise it starts at once. Arguments pass through: `pnpm start -- --port 9000`.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureCliBundle } from "./cli-bundle.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bundle = ensureCliBundle();

// glibc's malloc reads MALLOC_ARENA_MAX, and V8 its heap limit, when the process starts: both are
// set for the child (README, Environment), unless given.
const env = { MALLOC_ARENA_MAX: "2", ...process.env };
if (!/--max-old-space-size/.test(env.NODE_OPTIONS ?? "")) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --max-old-space-size=1024`.trim();
const child = spawn(process.execPath, [bundle, "serve", ...process.argv.slice(2)], { cwd: root, stdio: "inherit", env });
// Ctrl-C already reaches the server (same process group), and a second signal may mean
// "stop now" to it: SIGINT is only awaited here; SIGTERM (sent to this process alone) is passed on.
process.on("SIGINT", () => undefined);
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

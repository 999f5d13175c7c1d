// The built CLI (`packages/cli/dist/bin.js`, the bundle that is published) and the one check
// of whether it is current: rebuilt (tsup, ~2 s) when it is missing or older than any source it
// is made from. Used by `pnpm start` (scripts/start.mjs) and, as a vitest globalSetup, by the
// test suites that spawn `aeriox` (cli, server, sdk, chaos): a spawned bundle starts in ~0.7 s of
// CPU where `node --import tsx src/bin.ts` takes ~2.4 s, and the check keeps them on the current source.
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const CLI_BUNDLE = path.join(root, "packages/cli/dist/bin.js");

// Everything the bundle inlines (every workspace package's source: the CLI reaches all of them), the
// files tsup copies into dist/resources, and what decides the build (its config, the externals).
const packages = ["cli", "contract", "contract-tests", "core", "sdk", "server", "worker"];
const sources = [
  ...packages.flatMap((p) => [`packages/${p}/src`, `packages/${p}/package.json`]),
  "packages/core/data",
  "packages/core/prisma",
  "packages/cli/tsup.config.ts",
  "spec/aeriox.openapi.yaml",
];

function newestMtime(entry) {
  const stat = statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

/** Builds the bundle when it is missing or a source is newer; `say` reports that it does. */
export function ensureCliBundle(say = (line) => console.error(line)) {
  const built = statSync(CLI_BUNDLE, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built >= Math.max(...sources.map((s) => newestMtime(path.join(root, s))))) return CLI_BUNDLE;
  say(built ? "aeriox: sources changed, rebuilding the CLI bundle…" : "aeriox: building the CLI bundle (first start only)…");
  execFileSync("pnpm", ["--filter", "@aeriox/cli", "run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  return CLI_BUNDLE;
}

/** vitest globalSetup: the bundle the tests spawn is built from the sources under test. */
export default function setup() {
  ensureCliBundle();
}

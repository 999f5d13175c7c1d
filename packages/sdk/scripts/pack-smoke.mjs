#!/usr/bin/env node
// Packaging check: `pnpm pack` the SDK, install the tarball with plain npm in a temp folder outside
// the workspace, then import it as ESM and require it as CJS, and typecheck both with nodenext.
// With AERIOX_BASE_URL set it also calls `health()` on that server (a live `pnpm start`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(pkgDir, "../../node_modules/.bin/tsc");
const dir = mkdtempSync(join(tmpdir(), "aeriox-sdk-pack-"));
const run = (cmd, args, cwd = dir) => execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });

try {
  run("pnpm", ["pack", "--pack-destination", dir], pkgDir);
  const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  run("npm", ["init", "-y"]);
  run("npm", ["install", "--no-audit", "--no-fund", join(dir, tgz)]);

  const live = process.env.AERIOX_BASE_URL ? `console.log("health", JSON.stringify(await c.health()));` : "";
  writeFileSync(join(dir, "esm.mjs"), `import { Aeriox, AerioxError } from "@aeriox/sdk";\nconst c = new Aeriox({ apiKey: "k" });\nif (typeof c.jobs.wait !== "function" || !(new AerioxError("x") instanceof Error)) process.exit(1);\n${live}\nconsole.log("esm ok");\n`);
  writeFileSync(join(dir, "cjs.cjs"), `const { Aeriox, createPkcePair } = require("@aeriox/sdk");\nnew Aeriox({ apiKey: "k" });\ncreatePkcePair().then((p) => { if (p.method !== "S256") process.exit(1); console.log("cjs ok"); });\n`);
  writeFileSync(join(dir, "types.mts"), `import { Aeriox, type Job } from "@aeriox/sdk";\nconst j: Promise<Job> = new Aeriox().jobs.wait("id", { deadline: 1000 });\nvoid j;\n// @ts-expect-error prompt is required by the spec\nvoid new Aeriox().images.generate({ model: "m" });\n`);
  writeFileSync(join(dir, "types.cts"), `import sdk = require("@aeriox/sdk");\nconst c: sdk.Aeriox = new sdk.Aeriox({ apiKey: "k" });\nvoid c;\n`);

  process.stdout.write(run("node", ["esm.mjs"]));
  process.stdout.write(run("node", ["cjs.cjs"]));
  run(tsc, ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2023,dom", "--types", "node", "--typeRoots", join(pkgDir, "../../node_modules/@types"), "types.mts", "types.cts"]);
  console.log("types ok (nodenext, ESM + CJS)");
} finally {
  rmSync(dir, { recursive: true, force: true });
}

#!/usr/bin/env node
// Regenerates the Prisma client in src/db/generated from prisma/schema.prisma, offline
// and byte-for-byte reproducibly (the output is committed; CI fails on a diff).
//
// `prisma generate` insists on locating the native schema engine, which cannot be
// downloaded here, though generation never runs it: point it at a stand-in script.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const output = path.join(pkg, "src/db/generated");
const prismaBin = path.join(pkg, "node_modules/prisma/build/index.js");

rmSync(output, { recursive: true, force: true }); // no stale files from removed models
execFileSync(process.execPath, [prismaBin, "generate", "--schema", "prisma/schema.prisma"], {
  cwd: pkg,
  stdio: ["ignore", "inherit", "inherit"],
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: path.join(pkg, "scripts/no-schema-engine.sh"),
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
    PRISMA_GENERATE_NO_ENGINE: "1",
  },
});

// Guard reproducibility: nothing machine-specific may leak into committed files.
const leaks = [pkg, path.dirname(pkg), process.env.HOME].filter((s) => s && s.length > 1);
for (const file of walk(output)) {
  const text = readFileSync(file, "utf8");
  const normalized = text.replace(/\r\n/g, "\n");
  for (const leak of leaks) {
    if (normalized.includes(leak)) throw new Error(`generated file ${path.relative(pkg, file)} contains the machine path ${leak}`);
  }
  if (normalized !== text) writeFileSync(file, normalized);
}

function* walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* walk(full);
    else yield full;
  }
}

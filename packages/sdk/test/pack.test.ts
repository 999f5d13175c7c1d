/**
 * Packaging as a user meets it: `pnpm pack`, install the tarball with plain npm in a
 * folder outside the workspace, then an ESM import and a CJS require (typechecked
 * with nodenext) calling the live server started by the global setup.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("packs, installs with npm, and works from ESM and CJS against a live server", () => {
  const script = fileURLToPath(new URL("../scripts/pack-smoke.mjs", import.meta.url));
  const out = execFileSync(process.execPath, [script], {
    env: { ...process.env, AERIOX_BASE_URL: process.env.AERIOX_LIVE_BASE_URL },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  expect(out).toContain('health {"status":"ok"}');
  expect(out).toContain("esm ok");
  expect(out).toContain("cjs ok");
  expect(out).toContain("types ok");
}, 240_000);

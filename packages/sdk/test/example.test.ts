/** The typed example app in examples/ runs as documented against the live server of the global setup. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("examples/quickstart.ts generates, waits for and saves a PNG", () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const dir = mkdtempSync(path.join(tmpdir(), "aeriox-example-"));
  try {
    const out = path.join(dir, "fox.png");
    const stdout = execFileSync(process.execPath, ["--import", "tsx", "examples/quickstart.ts", out], {
      cwd: root,
      env: { ...process.env, AERIOX_API_KEY: process.env.AERIOX_LIVE_API_KEY, AERIOX_BASE_URL: process.env.AERIOX_LIVE_BASE_URL },
      encoding: "utf8",
    });
    expect(stdout).toMatch(/job [0-9a-f-]{36} completed/);
    expect(readFileSync(out).subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

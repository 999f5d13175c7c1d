/**
 * The README's quick start, run as a new user pastes it: the ```sh blocks between
 * `<!-- readme-test:start -->` and `<!-- readme-test:end -->` go, in order, into one bash
 * (so a variable set in one block is there in the next) against a live `aeriox serve` on a
 * private DATA_DIR and port. Only two things are substituted: the README's
 * `http://localhost:8080` becomes this server's URL, and `out/` a private folder. curl is
 * made to fail on HTTP errors, so a 401 or 404 (an unset variable) fails the test.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, startCliServer } from "./run-cli.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const README = path.join(ROOT, "README.md");

function quickStartBlocks(markdown: string): string[] {
  const start = markdown.indexOf("<!-- readme-test:start -->");
  const end = markdown.indexOf("<!-- readme-test:end -->");
  expect(start, "README has a readme-test:start marker").toBeGreaterThan(-1);
  expect(end, "README has a readme-test:end marker after it").toBeGreaterThan(start);
  return [...markdown.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const dir = mkdtempSync(path.join(tmpdir(), "aeriox-readme-"));
const dataDir = path.join(dir, "data");
const outDir = path.join(dir, "out");
let server: Awaited<ReturnType<typeof startCliServer>>;

beforeAll(async () => {
  server = await startCliServer(cliEnv({ DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", DATABASE_URL: undefined, REDIS_URL: undefined }));
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("README quick start", () => {
  it("runs top to bottom as pasted: key, job submitted, followed, saved, CLI generations", { timeout: 120_000 }, async () => {
    const blocks = quickStartBlocks(readFileSync(README, "utf8"));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const body = blocks
      .map((b, i) => `echo "::block ${i + 1}" >&2\n${b}`)
      .join("\n")
      .replaceAll("http://localhost:8080", server.url)
      .replaceAll("out/", `${outDir}/`);
    // Harness, not README: stop at the first failing command, and make curl fail on HTTP errors.
    const script = `set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n${body}`;
    const env = cliEnv({
      DATA_DIR: dataDir,
      AERIOX_API_KEY: undefined,
      AERIOX_BASE_URL: undefined,
      AERIOX_PROFILE: undefined,
      JOB_ID: undefined,
      XDG_CONFIG_HOME: path.join(dir, "config"),
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
    });
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", script], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.code, `${result.stderr}\n${result.stdout}`).toBe(0);

    expect(result.stdout).toContain('"status":"ok"'); // /healthz
    expect(result.stdout).toMatch(/"name":"demo"/); // /v1/me with the key the README exported
    const jobId = /job ([0-9a-f-]{36})/.exec(result.stdout)?.[1];
    expect(jobId, "the README echoes the job id it captured").toBeDefined();
    expect(result.stdout).toMatch(new RegExp(`"job_id":"${jobId}"[^\\n]*"status":"completed"`));
    expect(readFileSync(path.join(outDir, "fox.png")).subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(readFileSync(path.join(outDir, "fox-cli.png")).subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(readFileSync(path.join(outDir, "waves.mp4")).subarray(4, 8).toString("latin1")).toBe("ftyp");
    expect(readFileSync(path.join(outDir, "hello.wav")).subarray(0, 4).toString("latin1")).toBe("RIFF");
  });
});

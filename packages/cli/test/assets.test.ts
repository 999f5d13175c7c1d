/**
 * `aeriox assets upload FILE` and `aeriox assets list` as a user runs them (the real binary
 * against a real server, with ASSET_UPLOAD_MAX_BYTES small enough to be crossed).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderProceduralPng } from "@aeriox/core/media";
import { startTestServer, type TestServer } from "@aeriox/server/testing";
import { cliEnv, runCli } from "./run-cli.ts";

const SLOW = 180_000;
const LIMIT = 64 * 1024;
let server: TestServer;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  server = await startTestServer({ env: { ASSET_UPLOAD_MAX_BYTES: String(LIMIT) } });
  const { key } = await server.createKey({ workspace: "cli-assets" });
  env = cliEnv({ AERIOX_BASE_URL: server.url, AERIOX_API_KEY: key, AERIOX_MAX_RETRIES: "0" });
  dir = mkdtempSync(path.join(tmpdir(), "aeriox-cli-assets-"));
}, SLOW);
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("aeriox assets upload / list", () => {
  it("uploads files (type from the extension), lists them, and refuses what the server refuses", { timeout: SLOW }, async () => {
    const png = path.join(dir, "still.png");
    writeFileSync(png, renderProceduralPng("cli upload", 7, 64, 48));
    const up = await runCli(["assets", "upload", png, "--json"], env);
    expect(up.code, up.stderr).toBe(0);
    const asset = JSON.parse(up.stdout) as { id: string; content_type: string; job_id: null; width: number };
    expect(asset).toMatchObject({ content_type: "image/png", job_id: null, width: 64 });

    const human = await runCli(["assets", "upload", png], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("image/png");

    const list = await runCli(["assets", "list", "--source", "upload", "--limit", "1", "--all", "--json"], env);
    expect(list.code, list.stderr).toBe(0);
    const ids = (JSON.parse(list.stdout) as { data: Array<{ id: string }> }).data.map((a) => a.id);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(asset.id);

    // A PNG named .jpg: the server sniffs the bytes (415); the exit code and message say so.
    const wrong = path.join(dir, "lying.jpg");
    writeFileSync(wrong, renderProceduralPng("cli upload", 8, 16, 16));
    const mismatch = await runCli(["assets", "upload", wrong], env);
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.stderr).toContain("content_type_mismatch");

    const big = path.join(dir, "big.png");
    writeFileSync(big, Buffer.concat([Buffer.from(renderProceduralPng("big", 1, 16, 16)), Buffer.alloc(2 * LIMIT)]));
    const tooLarge = await runCli(["assets", "upload", big], env);
    expect(tooLarge.code).not.toBe(0);
    expect(tooLarge.stderr).toContain("payload_too_large");

    const unknown = await runCli(["assets", "upload", path.join(dir, "notes.txt")], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("--type");
    const missing = await runCli(["assets", "upload", path.join(dir, "missing.png")], env);
    expect(missing.code).not.toBe(0);
  });
});

/**
 * The compatibility guard (`pnpm spec:compat`, packages/contract/scripts/spec-compat.mjs): passes our spec (listing its intentional
 * differences with their CHANGELOG entries) and fails a spec made stricter or looser in the
 * ways it must catch.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readDocumentFile } from "@aeriox/contract";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SCRIPT = path.join(ROOT, "packages/contract/scripts/spec-compat.mjs");
// Run as `pnpm spec:compat` runs it: under tsx, which loads the contract package's TypeScript reader.
// As `--import tsx` (tsx's loader in this node process), not tsx's CLI, which starts a second node
// process for each of the 11 runs (~0.25 s each).
const TSX_LOADER = ["--import", createRequire(path.join(ROOT, "package.json")).resolve("tsx")];
const dir = mkdtempSync(path.join(tmpdir(), "aeriox-spec-compat-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...TSX_LOADER, SCRIPT, ...args], { cwd: ROOT, encoding: "utf8" }, (_err, stdout, stderr) => resolve({ code: child.exitCode, out: stdout + stderr }));
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;
function mutated(name: string, change: (doc: Doc) => void): string {
  const doc = readDocumentFile(path.join(ROOT, "spec/aeriox.openapi.yaml")) as Doc;
  change(doc);
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe("spec-compat", () => {
  it("passes our spec and prints each intentional difference with its CHANGELOG entry", async () => {
    const { code, out } = await run([]);
    expect(code).toBe(0);
    expect(out).toMatch(/POST \/v1\/nodes body\.attributes: request maxProperties 100 added\n\s+allowed: .* — spec\/CHANGELOG\.md § Hardening .* › Request bounds/);
    expect(out).toMatch(/GET \/v1\/nodes param query:parent_id: request format "uuid" added\n\s+allowed: .*§ Fixes .* › Inconsistent id formats/);
  });

  it.each([
    ["a shorter maxLength", (d: Doc) => (d.components.schemas.GenerateImageRequest.properties.prompt.maxLength = 100), /body\.prompt: request maxLength lowered \d+ → 100/],
    ["a larger minimum", (d: Doc) => (d.components.schemas.ComposeRequest.properties.segments.items.properties.duration.minimum = 1), /segments\[\]\.duration: request minimum raised 0\.1 → 1/],
    ["a new format", (d: Doc) => (d.components.schemas.GenerateImageRequest.properties.model.format = "uuid"), /body\.model: request format "uuid" added/],
    ["a new pattern", (d: Doc) => (d.components.schemas.GenerateImageRequest.properties.prompt.pattern = "^[a-z ]+$"), /body\.prompt: request pattern "\^\[a-z \]\+\$" added/],
    ["a narrower enum", (d: Doc) => (d.components.schemas.GenerateImageRequest.properties.aspect_ratio.enum = ["1:1", "16:9"]), /body\.aspect_ratio: enum value "9:16" removed/],
    ["an enum where any value was accepted", (d: Doc) => (d.components.schemas.GenerateVideoRequest.properties.motion_id.enum = ["static"]), /body\.motion_id: request enum \["static"\] added/],
    [
      "a new required header",
      (d: Doc) => d.paths["/v1/me"].get.parameters = [{ name: "X-Client", in: "header", required: true, schema: { type: "string" } }],
      /GET \/v1\/me: new required header X-Client/,
    ],
    ["a response field made optional", (d: Doc) => (d.components.schemas.Job.required = ["job_id", "type", "created_at"]), /200: response property 'status' is no longer required/],
    ["a response field made nullable", (d: Doc) => (d.components.schemas.Job.properties.created_at.type = ["string", "null"]), /\.created_at: response value made nullable/],
  ])("fails %s", async (name, change, expected) => {
    const { code, out } = await run(["--spec", mutated(name.replace(/\W+/g, "-"), change)]);
    expect(out).toMatch(expected);
    expect(code).toBe(1);
  });

  it("fails when the allow-list names a CHANGELOG entry that does not exist, or matches nothing", async () => {
    const list = path.join(dir, "allow.json");
    writeFileSync(list, JSON.stringify({ allowed: [{ match: "^nothing$", reason: "x", section: "Hardening", entry: "No such entry" }] }));
    const { code, out } = await run(["--allowlist", list]);
    expect(out).toContain('names CHANGELOG entry "No such entry"');
    expect(out).toContain("matches no difference (stale)");
    expect(out).toContain("breaking change(s)");
    expect(code).toBe(1);
  });
});

/**
 * The built CLI bundle run from outside the repository, as an installed `aeriox` is: its
 * dist/ copied into a temporary prefix next to the CLI's dependencies. With no DATA_DIR it
 * keeps its data in $XDG_DATA_HOME/aeriox whatever the working folder, so `aeriox keys create`
 * in another folder reaches the server; before any server ran it refuses instead of creating
 * a stray database; `serve` reports progress, spells commands `aeriox …`, and reports a busy
 * port (naming PORT) before opening the database. (pack.test.ts covers the real npm install.)
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDocumentFile } from "@aeriox/contract";
import type { CliResult } from "./run-cli.ts";

const PKG = fileURLToPath(new URL("..", import.meta.url));
const prefix = mkdtempSync(path.join(tmpdir(), "aeriox-installed-"));
const bin = path.join(prefix, "dist/bin.js");
const xdgData = path.join(prefix, "xdg-data");
const folderA = path.join(prefix, "project-a");
const folderB = path.join(prefix, "project-b");
const userData = path.join(xdgData, "aeriox");

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "test", LOG_LEVEL: "warn", XDG_DATA_HOME: xdgData, XDG_CONFIG_HOME: path.join(prefix, "config"), ...extra };
  for (const k of ["DATA_DIR", "DATABASE_URL", "REDIS_URL", "npm_lifecycle_event", "AERIOX_API_KEY", "AERIOX_BASE_URL"]) delete e[k];
  return e;
}

function run(args: string[], cwd: string, extra: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: env(extra), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(() => {
  // dist/ is current: the vitest globalSetup (scripts/cli-bundle.mjs) rebuilt it if a source was newer.
  cpSync(path.join(PKG, "dist"), path.join(prefix, "dist"), { recursive: true });
  // The bundle leaves npm dependencies external: resolve them as an install would, from ../node_modules.
  symlinkSync(path.join(PKG, "node_modules"), path.join(prefix, "node_modules"), "dir");
  mkdirSync(folderA);
  mkdirSync(folderB);
});

afterAll(() => rmSync(prefix, { recursive: true, force: true }));

describe("installed aeriox defaults", () => {
  let server: ReturnType<typeof spawn> | undefined;
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const closed = new Promise((r) => server!.once("close", r));
      server.kill("SIGTERM");
      await closed;
    }
  });

  it("keys create before any server ran: one line naming the data folder and how to start one, nothing created", async () => {
    const r = await run(["keys", "create", "--workspace", "demo"], folderB);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(userData);
    expect(r.stderr).toContain("`aeriox serve`");
    expect(existsSync(path.join(userData, "pgdata"))).toBe(false);
  });

  it("serve in one folder, keys create in another: same per-user database; busy port reported before the database", { timeout: 120_000 }, async () => {
    server = spawn(process.execPath, [bin, "serve"], { cwd: folderA, env: env({ PORT: "0", HOST: "127.0.0.1" }), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m && out.includes("second terminal")) resolve(m[1]!.replace("localhost", "127.0.0.1"));
      };
      server!.stdout!.on("data", onData);
      server!.stderr!.on("data", onData);
      server!.once("close", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    expect(out).toContain(`opening the embedded database in ${userData}`);
    expect(out).toContain("migrating");
    expect(out).toContain("aeriox keys create --workspace");
    expect(out).not.toContain("pnpm aeriox");
    expect(out).toContain(`${url.replace("127.0.0.1", "localhost")}/docs`);

    const created = await run(["keys", "create", "--workspace", "demo", "--quiet"], folderB);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sk_live_\S+$/);
    const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);
    const docs = await fetch(`${url}/docs/scalar.js`);
    expect(docs.status).toBe(200);
    // The bundle reads its JSON copy of the spec (made at build time): the same document as spec/.
    expect(existsSync(path.join(prefix, "dist/resources/spec/aeriox.openapi.json"))).toBe(true);
    const served = await fetch(`${url}/openapi.json`);
    expect(await served.json()).toEqual(readDocumentFile(fileURLToPath(new URL("../../../spec/aeriox.openapi.yaml", import.meta.url))));

    const port = new URL(url).port;
    const busy = await run(["serve"], folderB, { PORT: port, HOST: "127.0.0.1", DATA_DIR: path.join(prefix, "other-data") });
    expect(busy.code).toBe(1);
    expect(busy.stderr.trim().split("\n")).toHaveLength(1);
    expect(busy.stderr).toMatch(new RegExp(`port ${port} .*in use.*PORT`));
    expect(busy.stdout).not.toContain("opening");
    expect(existsSync(path.join(prefix, "other-data"))).toBe(false);
  });
});

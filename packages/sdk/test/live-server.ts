/**
 * vitest globalSetup: unless AERIOX_LIVE_BASE_URL/AERIOX_LIVE_API_KEY point at a
 * deployment, start a real `aeriox serve` (embedded default, private data folder)
 * as a user would, create an API key and an OAuth client with the CLI, and hand
 * them to the live tests through the environment. The CLI is the built bundle the CLI's
 * tests spawn (run-cli.ts), made current by the globalSetup before this one (vitest.config.ts).
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BIN as cli, REPO_ROOT as root } from "../../cli/test/run-cli.ts";

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.AERIOX_LIVE_BASE_URL && process.env.AERIOX_LIVE_API_KEY) return async () => undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), "aeriox-sdk-live-"));
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", NODE_ENV: "test" };
  // The SDK is under test here, not the backends: always the embedded default.
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const server: ChildProcess = spawn(process.execPath, [cli, "serve"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!.replace("localhost", "127.0.0.1"));
    };
    server.stdout!.on("data", onData);
    server.stderr!.on("data", onData);
    server.once("exit", (code) => reject(new Error(`aeriox serve exited (${code}): ${out}`)));
  });
  const runCli = (args: string[]) => execFileSync(process.execPath, [cli, ...args, "--json"], { cwd: root, env, encoding: "utf8" });
  const { key } = JSON.parse(runCli(["keys", "create", "--workspace", "sdk-live"])) as { key: string };
  const client = JSON.parse(runCli(["oauth-clients", "create", "--name", "SDK live test", "--redirect-uri", "http://localhost:9999/cb", "--scopes", "read,generate"])) as { client_id: string };
  process.env.AERIOX_LIVE_BASE_URL = url;
  process.env.AERIOX_LIVE_API_KEY = key;
  process.env.AERIOX_LIVE_OAUTH_CLIENT_ID = client.client_id;
  return async () => {
    await new Promise<void>((resolve) => {
      server.once("exit", () => resolve());
      server.kill("SIGTERM");
    });
    rmSync(dataDir, { recursive: true, force: true });
  };
}

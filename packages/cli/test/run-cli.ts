/** Runs the real `aeriox` binary as a user would: a spawned process with its own environment. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The built bundle (dist/bin.js, what `pnpm start` and npm users run), not src/bin.ts through tsx:
 * a spawn costs ~0.7 s of CPU instead of ~2.4 s. The suites that spawn it name
 * scripts/cli-bundle.mjs as their vitest globalSetup, which rebuilds it when a source is newer,
 * so the tests run the current source. Run with `process.execPath` and no wrapper, so signals
 * such as SIGKILL reach the program itself.
 */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI process: the caller's, minus anything that would point it at shared services. */
export function cliEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "test", LOG_LEVEL: "warn" };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end(input ?? "");
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `aeriox serve` and resolves once it prints its URL. */
export function startCliServer(env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess; output: () => string; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve"], { env, cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        resolve({
          url: match[1]!.replace("localhost", "127.0.0.1"),
          child,
          output: () => out,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once("close", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => reject(new Error(`aeriox serve exited with ${code}:\n${out}`)));
  });
}

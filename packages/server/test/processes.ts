/**
 * `aeriox serve` / `aeriox worker` as separate processes beside a test server, on its
 * database, Redis prefix and data folder (PostgreSQL only: PGlite is one process).
 * Started as the CLI's tests start it (run-cli.ts: the built bundle, kept current by the
 * vitest globalSetup scripts/cli-bundle.mjs), one process, so signals such as SIGKILL
 * reach the program itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { BIN, REPO_ROOT } from "../../cli/test/run-cli.ts";
import type { TestServer } from "./harness.ts";


export interface SpawnedProcess {
  child: ChildProcess;
  /** `serve`: the URL it listens on. */
  url: string | null;
}

const spawned = new Set<ChildProcess>();

/** The environment of a process joining `srv`'s deployment (override or add with `env`). */
function envFor(srv: TestServer, env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: srv.databaseUrl!,
    ...(srv.config.REDIS_URL ? { REDIS_URL: srv.config.REDIS_URL, REDIS_PREFIX: srv.config.REDIS_PREFIX } : {}),
    DATA_DIR: srv.config.dataDir,
    PUBLIC_URL: srv.url,
    ...env,
  };
}

/** Starts `aeriox <command>` and resolves once it says it is ready. */
export function spawnAeriox(srv: TestServer, command: "serve" | "worker", env: Record<string, string> = {}): Promise<SpawnedProcess> {
  const extra = command === "serve" ? { PORT: "0", HOST: "127.0.0.1", ...env } : env;
  const child = spawn(process.execPath, [BIN, command], { cwd: REPO_ROOT, env: envFor(srv, extra), stdio: ["ignore", "pipe", "pipe"] });
  spawned.add(child);
  const ready = command === "serve" ? /listening on (http:\/\/\S+)/ : /worker running/;
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ child, url: m[1] ? m[1].replace("localhost", "127.0.0.1") : null });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`aeriox ${command} exited (${code}): ${out}`)));
  });
}

/** SIGKILLs every process this file started that is still running. */
export function killSpawned(): void {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  spawned.clear();
}

/**
 * Starts a real API server on a loopback port for tests: a fresh migrated database
 * (PGlite in memory, or a random-named PostgreSQL database when DATABASE_URL is
 * set), a private data folder and, when REDIS_URL is set, a private Redis prefix.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { loadConfig, type Config } from "@aeriox/core/config";
import { createRuntime, type Runtime } from "@aeriox/core/runtime";
import { createLogger } from "@aeriox/core/logger";
import { createTestDatabase } from "@aeriox/core/db/testing";
import { runAdminCommand } from "@aeriox/core/admin/commands";
import { createApp, type AppOptions } from "../src/app.ts";

export interface TestServer {
  url: string;
  runtime: Runtime;
  config: Config;
  /** Every log line the server wrote (to prove secrets never appear). */
  logs: string[];
  /** Creates a workspace (by name) and an API key in it. */
  createKey(options?: { workspace?: string; scopes?: string[]; daily_spend_cap_usd?: number }): Promise<{ key: string; key_id: string; workspace_id: string }>;
  request(pathname: string, init?: RequestInit & { key?: string; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestServer(options: { env?: Record<string, string>; app?: AppOptions } = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "aeriox-test-"));
  const db = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: "test",
    DATA_DIR: dataDir,
    PORT: "0",
    LOG_LEVEL: "info",
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: `aeriox-test-${randomUUID()}` } : {}),
    ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const runtime = await createRuntime(config, { role: "server", db, logger: createLogger({ level: "info", destination: sink }) });
  const app = createApp(runtime, options.app);
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    runtime,
    config,
    logs,
    async createKey(o = {}) {
      return (await runAdminCommand(runtime, "keys.create", { workspace: o.workspace ?? `ws-${randomUUID()}`, ...o })) as {
        key: string;
        key_id: string;
        workspace_id: string;
      };
    },
    request(pathname, init = {}) {
      const headers = new Headers(init.headers);
      if (init.key) headers.set("authorization", `Bearer ${init.key}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(init.json);
      }
      return fetch(url + pathname, { ...init, headers, body });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      await db.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

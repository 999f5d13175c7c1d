/**
 * Starts a real API server on a loopback port for tests: a fresh migrated database
 * (PGlite in memory, or a random-named PostgreSQL database when DATABASE_URL is
 * set), a private data folder and, when REDIS_URL is set, a private Redis prefix.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { once } from "node:events";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { loadConfig, type Config } from "@aeriox/core/config";
import type { Runtime } from "@aeriox/core/runtime";
import { createRuntime } from "@aeriox/core/bootstrap";
import { createLogger } from "@aeriox/core/logger";
import { createTestDatabase } from "@aeriox/core/testing";
import { runAdminCommand } from "@aeriox/core/admin";
import type { ProvidersOptions } from "@aeriox/core/providers";
import { createApp, type AppOptions } from "../src/app.ts";

export interface TestServer {
  url: string;
  runtime: Runtime;
  /** The runtime that runs the jobs (its metrics count provider calls): the worker's with REDIS_URL, else `runtime`. */
  jobsRuntime: Runtime;
  config: Config;
  /** Connection string of the test database (PostgreSQL only), for spawned processes. */
  databaseUrl: string | undefined;
  /** Every log line the server wrote (to prove secrets never appear). */
  logs: string[];
  /** Creates a workspace (by name) and an API key in it. */
  createKey(options?: { workspace?: string; scopes?: string[]; daily_spend_cap_usd?: number }): Promise<{ key: string; key_id: string; workspace_id: string }>;
  request(pathname: string, init?: RequestInit & { key?: string; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  app?: AppOptions;
  providers?: ProvidersOptions;
  /** With REDIS_URL: run a BullMQ worker in this process (default true). */
  worker?: boolean;
}

/**
 * With REDIS_URL set the API only enqueues (as in production), so a BullMQ worker
 * is started in this process too, on the same database.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "aeriox-test-"));
  // Listen first so absolute URLs (signed asset URLs, OAuth issuer) carry the real port.
  const server = http.createServer();
  // Longer than any client's idle keep-alive (undici's is 4 s), as `aeriox serve` does: the
  // client, not the server, closes idle sockets, so a request never races a closing one.
  server.keepAliveTimeout = 65_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const db = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: "test",
    DATA_DIR: dataDir,
    PORT: "0",
    PUBLIC_URL: url,
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
  const logger = createLogger({ level: "info", destination: sink });
  const runtime = await createRuntime(config, { role: "server", db, logger, retryBackoffMs: 50, ...(options.providers ? { providers: options.providers } : {}) });
  // The worker (BullMQ, ioredis) is imported only with REDIS_URL: embedded runs never load it.
  const worker = config.REDIS_URL && options.worker !== false
    ? await import("@aeriox/worker").then(({ startWorker }) => startWorker(config, { db, logger, reconcileIntervalMs: 1000, ...(options.providers ? { providers: options.providers } : {}) }))
    : null;
  server.on("request", createApp(runtime, options.app));

  return {
    url,
    runtime,
    jobsRuntime: worker?.runtime ?? runtime,
    config,
    databaseUrl: db.url,
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
      await worker?.stop();
      await runtime.close();
      await db.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

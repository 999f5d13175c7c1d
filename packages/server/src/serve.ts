/**
 * `aeriox serve`: migrate, start the API (and, on the embedded default, the
 * in-process job runner), publish the local admin channel, stop cleanly on signals.
 */
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "@aeriox/core/config";
import { createRuntime, type Runtime, type RuntimeOptions } from "@aeriox/core/runtime";
import type { Logger } from "@aeriox/core/logger";
import { createApp, type AppOptions } from "./app.ts";
import { adminRoutes, createAdminToken, writeAdminFile } from "./admin/channel.ts";
import { loadSpec } from "./spec.ts";
import { unimplementedOperations } from "./http/router.ts";
import { handlers } from "./handlers/index.ts";

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  runtime: Runtime;
  stop(): Promise<void>;
}

export async function startServer(config: Config, options: { logger?: Logger; app?: AppOptions; onProgress?: RuntimeOptions["onProgress"] } = {}): Promise<RunningServer> {
  const runtime = await createRuntime(config, { role: "server", ...(options.logger ? { logger: options.logger } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const cleanups: Array<() => unknown> = [() => runtime.close()];
  try {
    const adminToken = createAdminToken();
    const admin = adminRoutes(runtime, adminToken);
    const app = createApp(runtime, {
      ...options.app,
      extraRoutes: (express) => {
        admin(express);
        options.app?.extraRoutes?.(express);
      },
    });
    const server = app.listen(config.PORT, config.HOST);
    await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err))]);
    server.keepAliveTimeout = 65_000;
    const port = (server.address() as AddressInfo).port;
    // Without PUBLIC_URL, absolute URLs (signed downloads, OAuth issuer) use the port actually bound.
    if (!config.PUBLIC_URL) runtime.config.publicUrl = `http://localhost:${port}`;
    const url = runtime.config.publicUrl;
    cleanups.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.unshift(() => server.closeAllConnections());
    cleanups.unshift(writeAdminFile(config.dataDir, `http://127.0.0.1:${port}`, adminToken));

    const missing = unimplementedOperations(loadSpec(), handlers);
    if (missing.length) runtime.logger.info({ operations: missing }, `${missing.length} operations answer 501 not_implemented`);

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        for (const cleanup of cleanups) await cleanup();
      })());
    return { url, port, server, runtime, stop };
  } catch (err) {
    for (const cleanup of cleanups) await cleanup();
    throw err;
  }
}

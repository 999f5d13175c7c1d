/**
 * `aeriox serve`: migrate, start the API (and, on the embedded default, the
 * in-process job runner), publish the local admin channel, stop cleanly on signals.
 *
 * Stopping is graceful within SHUTDOWN_TIMEOUT_SECONDS. First the drain (SHUTDOWN_DRAIN_MS,
 * default 2 s, at most half the timeout): the listener still accepts, /readyz answers 503 and
 * every response says `Connection: close`, so a load balancer takes the process out of
 * rotation and keep-alive clients reconnect elsewhere. Only then does the listener close —
 * closing it while clients still connect would have the kernel reset the connections in its
 * accept backlog, whose requests were already sent. Connections already accepted are not
 * ended with it: each one's request is read and answered, idle ones are closed after a grace
 * (a request sent late is answered, not reset); requests in flight finish — for up to half of
 * what is left of the timeout, then their connections are cut. Then the runtime closes, settling first the in-doubt
 * accepts this process still holds (jobs/in-doubt.ts; ARCHITECTURE.md, In-doubt accepts): with BullMQ the API holds no jobs
 * (a job accepted is in Redis or, if enqueueing failed, `queued` for the reconciler); the
 * in-process runner stops taking jobs, lets running attempts finish (bounded, queue.ts) and
 * leaves waiting ones `queued`, which the next start's reconciler enqueues again. Last the
 * render pool, asset store, Redis and database close.
 */
import { once } from "node:events";
import type { Server } from "node:http";
import net, { type AddressInfo } from "node:net";
import type { Config } from "@aeriox/core/config";
import type { Runtime } from "@aeriox/core/runtime";
import { createRuntime, type RuntimeOptions } from "@aeriox/core/bootstrap";
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
  /** Graceful stop (see above); `timeoutMs` defaults to SHUTDOWN_TIMEOUT_SECONDS, `drainMs` to SHUTDOWN_DRAIN_MS. */
  stop(options?: { timeoutMs?: number; drainMs?: number }): Promise<void>;
}

export async function startServer(config: Config, options: { logger?: Logger; app?: AppOptions; onProgress?: RuntimeOptions["onProgress"] } = {}): Promise<RunningServer> {
  const runtime = await createRuntime(config, { role: "server", ...(options.logger ? { logger: options.logger } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const cleanups: Array<() => unknown> = [() => runtime.close()];
  try {
    const adminToken = createAdminToken();
    const admin = adminRoutes(runtime, adminToken);
    let draining = false;
    const app = createApp(runtime, {
      ...options.app,
      extraRoutes: (express) => {
        // While stopping: load balancers see not-ready, clients drop their keep-alive connection.
        express.use((req, res, next) => {
          if (!draining) return next();
          res.setHeader("connection", "close");
          if (req.path === "/readyz") {
            res.status(503).json({ error: { code: "not_ready", message: "This server is shutting down", details: { checks: { server: "shutting_down" } } } });
            return;
          }
          next();
        });
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
    // Run in order at the end of stop(), or at once when start-up fails from here on.
    cleanups.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.unshift(() => server.closeAllConnections());
    const removeAdminFile = writeAdminFile(config.dataDir, `http://127.0.0.1:${port}`, adminToken);
    cleanups.unshift(removeAdminFile);

    const missing = unimplementedOperations(loadSpec(), handlers);
    if (missing.length) runtime.logger.info({ operations: missing }, `${missing.length} operations answer 501 not_implemented`);

    let stopping: Promise<void> | undefined;
    const stop = (o: { timeoutMs?: number; drainMs?: number } = {}) =>
      (stopping ??= (async () => {
        const timeoutMs = o.timeoutMs ?? config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
        const drainMs = Math.min(o.drainMs ?? config.SHUTDOWN_DRAIN_MS, timeoutMs / 2);
        const started = Date.now();
        draining = true;
        removeAdminFile();
        // Still accepting: a load balancer polling /readyz sees 503 and stops sending here.
        if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs));
        const budgetMs = (timeoutMs - (Date.now() - started)) / 2;
        // Stop accepting, but not through http's close(): that also ends every connection without a
        // request in flight — including one just accepted whose request has not been read yet, which
        // its client sees reset after sending. Idle connections are ended after a short grace instead
        // (and again until none is left); resolves once the last connection is gone.
        const drained = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
        let timer: NodeJS.Timeout | undefined;
        const sweeper = setTimeout(function sweep() {
          server.closeIdleConnections();
          sweeper.refresh();
        }, Math.min(1000, budgetMs / 2));
        const inTime = await Promise.race([drained.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budgetMs)))]);
        clearTimeout(timer);
        clearTimeout(sweeper);
        if (!inTime) runtime.logger.warn({ timeoutMs, drainMs }, "requests still running at shutdown; closing their connections");
        for (const cleanup of cleanups) await cleanup();
        await drained;
      })());
    return { url, port, server, runtime, stop };
  } catch (err) {
    for (const cleanup of cleanups) await cleanup();
    throw err;
  }
}

/**
 * `aeriox worker`: runs queued jobs from BullMQ (REDIS_URL required). Start as many
 * as you like, on as many machines: each takes jobs from every provider lane, with
 * per-lane concurrency, retries with backoff, and stalled-job recovery; each also
 * runs the reconciler (safe in parallel). With METRICS_PORT set it serves its own
 * GET /metrics there (Prometheus; METRICS_TOKEN as on the API): scrape every worker.
 */
import http from "node:http";
import { once } from "node:events";
import type { Config } from "@aeriox/core/config";
import { ConfigError } from "@aeriox/core/config";
import type { Runtime } from "@aeriox/core/runtime";
import { createRuntime, type RuntimeOptions } from "@aeriox/core/bootstrap";
import { processJob, endJobWithRefund, jobError, startReconciler } from "@aeriox/core/jobs";
import { startBullWorkers } from "@aeriox/core/jobs/bullmq";
import { PROVIDERS } from "@aeriox/core/pricing";
import { serveMetrics } from "@aeriox/core/observability";

export interface RunningWorker {
  runtime: Runtime;
  /** Where GET /metrics answers (METRICS_PORT set), e.g. http://0.0.0.0:9464. */
  metricsUrl: string | null;
  /**
   * Graceful stop: takes no new jobs, lets running ones finish for up to `timeoutMs` (default
   * SHUTDOWN_TIMEOUT_SECONDS) less a margin for closing; a job still running then is abandoned
   * unsettled, its BullMQ lock lapses (WORKER_LOCK_MS) and another worker's stalled-job check
   * hands it on, so it runs again rather than being lost. Then pool, Redis and database close.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

export interface WorkerOptions extends Partial<Pick<RuntimeOptions, "logger" | "db" | "providers">> {
  /** Shorter lock/stall timings make crash recovery observable in tests. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  reconcileIntervalMs?: number;
}

export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<RunningWorker> {
  if (!config.REDIS_URL) {
    throw new ConfigError("aeriox worker needs REDIS_URL (without it, `aeriox serve` runs jobs in-process)");
  }
  const runtime = await createRuntime(config, { role: "worker", ...options });
  const workers = startBullWorkers({
    redisUrl: config.REDIS_URL,
    prefix: config.REDIS_PREFIX,
    providers: [...PROVIDERS],
    processor: (jobId, attempt) => processJob(runtime, jobId, attempt),
    concurrencyScale: config.WORKER_CONCURRENCY / 8,
    ...(config.LANE_WORKSPACE_CONCURRENCY !== undefined ? { workspaceConcurrency: config.LANE_WORKSPACE_CONCURRENCY } : {}),
    onSchedulingError: (jobId, err) => runtime.logger.warn({ err, jobId }, "fair-scheduling bookkeeping failed; the reconciler or the slot's lease repairs it"),
    lockDurationMs: options.lockDurationMs ?? config.WORKER_LOCK_MS,
    stalledIntervalMs: options.stalledIntervalMs ?? config.WORKER_STALLED_CHECK_MS,
    onFinalFailure: async (jobId, reason) => {
      const failed = await endJobWithRefund(runtime.db, jobId, "failed", jobError("worker_failed", `The job could not be completed (${reason}); the reservation was refunded`));
      if (failed) {
        runtime.logger.warn({ jobId, reason }, "job failed after its last attempt");
        void runtime.jobEvents.announce(jobId); // wakes a `Prefer: wait` request waiting on it
      }
    },
  });
  const reconciler = startReconciler(runtime, options.reconcileIntervalMs);
  const metricsServer = config.METRICS_PORT !== undefined ? await listenForMetrics(runtime, config.METRICS_PORT) : null;
  runtime.logger.info({ providers: PROVIDERS, metricsPort: config.METRICS_PORT ?? null }, "worker started");
  return {
    runtime,
    metricsUrl: metricsServer ? `http://${config.HOST}:${(metricsServer.address() as { port: number }).port}` : null,
    async stop(o: { timeoutMs?: number } = {}) {
      const timeoutMs = o.timeoutMs ?? config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
      reconciler.stop();
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      }
      // BullMQ's close() stops fetching and waits for the active jobs. Closing the runtime gets what is left (≥ 2 s).
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        workers.close().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(timeoutMs - 2000, timeoutMs / 2)))),
      ]);
      clearTimeout(timer);
      if (!finished) runtime.logger.warn({ timeoutMs }, "jobs still running at shutdown are left to another worker (their lock lapses)");
      await runtime.close();
    },
  };
}

/** The worker's own GET /metrics (everything else 404): it has no API server to mount it on. */
async function listenForMetrics(runtime: Runtime, port: number): Promise<http.Server> {
  const serve = serveMetrics(runtime.metrics, runtime.config.METRICS_TOKEN);
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") return serve(req, res);
    res.statusCode = 404;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ error: { code: "not_found", message: "Only GET /metrics is served here" } }));
  });
  server.listen(port, runtime.config.HOST);
  try {
    await once(server, "listening");
  } catch (err) {
    throw new ConfigError(`Cannot listen on METRICS_PORT ${port}: ${(err as Error).message}`);
  }
  return server;
}

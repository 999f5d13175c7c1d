/**
 * The composition root shared by the API server, the worker and the CLI: opens
 * the database (and migrates it), Redis when configured, and the domain services.
 * Everything is created once here and passed down; nothing reads globals. Builds a
 * `Runtime` (runtime.ts, types only); no domain module imports this file.
 */
import type { Redis } from "ioredis";
import type { Runtime } from "./runtime.ts";
import type { Config } from "./config.ts";
import { ConfigError } from "./config.ts";
import { createLogger, redactValues, type Logger } from "./logger.ts";
import { attachMetrics } from "./observability/index.ts";
import { openDatabase, type Database } from "./db/index.ts";
import { migrate } from "./db/migrate.ts";
import { acquireDataDirLock } from "./data-dir-lock.ts";
import { createCredentialCache } from "./auth/credential-cache.ts";
import { createMemoryRateLimiter, createRedisRateLimiter } from "./auth/rate-limit.ts";
import { loadCatalog } from "./pricing/catalog.ts";
import { createProviders, type ProvidersOptions } from "./providers/registry.ts";
import { createBreakerRegistry } from "./providers/circuit-breaker.ts";
import { createAssetStorage } from "./assets/create-storage.ts";
import { createRenderPool, renderPoolOptions } from "./media/render-pool.ts";
import { useFfmpegBinary } from "./media/ffmpeg.ts";
import { createUrlSigner, loadSigningSecret } from "./assets/signed-urls.ts";
import { createInProcessQueue, type JobQueue } from "./jobs/queue.ts";
import { processJob } from "./jobs/process.ts";
import { startReconciler } from "./jobs/reconciler.ts";
import { flushInDoubtAccepts } from "./jobs/in-doubt.ts";
import { recordTrainingVoice } from "./characters/characters.ts";
import { createInProcessJobEndSignal, createRedisJobEndSignal } from "./jobs/job-events.ts";
import { loadGlobalCards } from "./cards/globals.ts";
import { registerBackfill, startEmbeddingBackfill, type EmbeddingBackfill } from "./cards/embedding-queue.ts";
import { createBullWebhookDispatcher, createInProcessWebhookDispatcher } from "./webhooks/dispatcher.ts";

export interface RuntimeOptions {
  role: "server" | "worker" | "cli";
  logger?: Logger;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /** Test hook: use this database instead of opening one from config. */
  db?: Database;
  /** Test hook: provider options (timeouts, breakers, backoff). */
  providers?: ProvidersOptions;
  /** In-process runner: retry backoff base (tests shorten it). */
  retryBackoffMs?: number;
  /** Run the reconciler in this process (default: yes where jobs run). */
  reconciler?: boolean;
  /** Start-up progress for a person watching (`aeriox serve` prints it): opening the database, migrating. */
  onProgress?: (step: "opening" | "migrating", detail: string) => void;
}

/** BullMQ loses jobs when Redis may evict keys; refuse to run on such a Redis. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const info = await redis.info("memory");
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy && policy !== "noeviction") {
    throw new ConfigError(`Redis maxmemory-policy is '${policy}'; AERIOX needs 'noeviction' (queued jobs would be lost). Run: redis-cli CONFIG SET maxmemory-policy noeviction`);
  }
}

export async function connectRedis(url: string): Promise<Redis> {
  // Loaded here, not at start-up: a process without REDIS_URL never imports ioredis (nor BullMQ, below).
  const { Redis } = await import("ioredis");
  const redis = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: true, connectTimeout: 5000 });
  redis.on("error", () => {
    /* surfaced by the calls that fail; readiness reports it */
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new ConfigError(`Cannot connect to REDIS_URL: ${(err as Error).message}`);
  }
  return redis;
}

export async function createRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL, name: `aeriox-${options.role}` });
  redactValues(logger, [config.FAL_KEY, config.ELEVENLABS_API_KEY, config.STRIPE_SECRET_KEY, config.STRIPE_WEBHOOK_SECRET, config.ASSET_URL_SECRET, config.METRICS_TOKEN, config.VOYAGE_API_KEY, config.EMBEDDINGS_API_KEY]);
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    let db = options.db;
    if (!db) {
      if (config.databaseKind === "pglite") cleanups.push(acquireDataDirLock(config.dataDir, options.role));
      options.onProgress?.("opening", config.databaseKind === "pglite" ? `the embedded database in ${config.dataDir}` : "PostgreSQL (DATABASE_URL)");
      db = await openDatabase(config);
      const opened = db;
      cleanups.push(() => opened.close());
    }
    if (options.migrate !== false) {
      options.onProgress?.("migrating", "applying pending migrations");
      const { applied } = await migrate(db);
      if (applied.length) logger.info({ applied }, "database migrated");
    }
    let redis: Redis | null = null;
    if (config.REDIS_URL) {
      redis = await connectRedis(config.REDIS_URL);
      const opened = redis;
      cleanups.push(() => void opened.quit().catch(() => opened.disconnect()));
      await assertNoEviction(redis);
    }
    const jobEvents = redis && config.REDIS_URL ? await createRedisJobEndSignal(redis, config.REDIS_URL, config.REDIS_PREFIX) : createInProcessJobEndSignal();
    cleanups.push(() => jobEvents.close());
    const rateLimiter = redis
      ? createRedisRateLimiter(redis, config.REDIS_PREFIX, config.RATE_LIMIT_PER_MINUTE)
      : createMemoryRateLimiter(config.RATE_LIMIT_PER_MINUTE);
    const observed = attachMetrics(db, logger, { queueDepths: async (lanes) => (await runtime.queue.depths?.(lanes)) ?? [] });
    cleanups.push(() => observed.detach());
    const catalog = loadCatalog({ file: config.PRICING_FILE });
    if (catalog.error) logger.error(catalog.error.message);
    useFfmpegBinary(config.FFMPEG_PATH);
    // Closed after the queue (cleanups run in reverse), so jobs still running keep their threads.
    const renderer = createRenderPool(renderPoolOptions(config));
    cleanups.push(() => renderer.close());
    const trainingDb = db;
    // A training job records the voice it cloned in its own input (characters.ts).
    // One breaker registry per runtime, its state in Redis when the deployment has one (a worker's
    // failures open the circuit the API checks at submit); tests may pass their own.
    let breakers = options.providers?.breakers;
    if (!breakers) {
      const created = await createBreakerRegistry(config, redis, {
        onStoreError: (err) => logger.warn({ err }, "circuit breaker state unreachable; keeping this process's last view"),
        ...(options.providers?.breakerOptions ? { overrides: options.providers.breakerOptions } : {}),
      });
      cleanups.push(() => created.close());
      breakers = created;
    }
    const providers = createProviders(config, { recordTrainingVoice: (jobId, voiceId) => recordTrainingVoice(trainingDb, jobId, voiceId), ...options.providers, breakers, renderer, metrics: observed.metrics });
    const storage = await createAssetStorage(config, logger);
    cleanups.push(() => storage.close?.());
    const signer = createUrlSigner({ secret: loadSigningSecret(config.ASSET_URL_SECRET, config.dataDir), publicUrl: () => config.publicUrl, ttlSeconds: config.ASSET_URL_TTL_SECONDS });

    // Where jobs go. The in-process runner's processor reaches the runtime built below when it runs
    // a job, which is never before createRuntime returns.
    let queue: JobQueue;
    // BullMQ (and its Redis client) is imported only with REDIS_URL; the embedded default never loads it.
    const bull = config.REDIS_URL ? await import("./jobs/bullmq-queue.ts") : null;
    if (bull && config.REDIS_URL) {
      queue = bull.createBullQueue({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX });
    } else {
      // Embedded default: this process runs the jobs it accepts (the server, or a CLI command).
      queue = createInProcessQueue({
        processor: (jobId, attempt) => processJob(runtime, jobId, attempt),
        concurrency: config.WORKER_CONCURRENCY,
        ...(config.LANE_WORKSPACE_CONCURRENCY !== undefined ? { workspaceConcurrency: config.LANE_WORKSPACE_CONCURRENCY } : {}),
        ...(options.retryBackoffMs !== undefined ? { backoffMs: options.retryBackoffMs } : {}),
        onError: (jobId, err) => logger.error({ err, jobId }, "job processor failed"),
      });
      if (options.role === "server" && options.reconciler !== false) {
        const reconciler = startReconciler({ db, queue, catalog, providers, logger });
        cleanups.push(() => reconciler.stop());
      }
    }
    let backfill: EmbeddingBackfill | null = null;
    if (options.role === "server") {
      // Global cards from the catalog file (cards/globals.ts), and the background embedding of
      // cards whose vector is pending (cards/embedding-queue.ts; idle without an embedding model).
      await loadGlobalCards({ db, logger }, config.CARDS_GLOBAL_CATALOG);
      const started = startEmbeddingBackfill({ db, logger, config });
      backfill = started;
      cleanups.push(() => started.stop());
    }
    const openedQueue = queue;
    cleanups.push(() => openedQueue.close());
    // Webhook deliveries: BullMQ workers consume them where jobs run (`aeriox worker`); every process adds
    // and sweeps (webhooks/dispatcher.ts). Closed before the queue and the database (cleanups run in reverse).
    const deliveryServices = { db, config, logger, signer };
    const webhooks = bull && config.REDIS_URL
      ? await createBullWebhookDispatcher(deliveryServices, { connection: bull.connectionOf(config.REDIS_URL), prefix: config.REDIS_PREFIX, consume: options.role === "worker", periodicSweep: options.role !== "cli" })
      : createInProcessWebhookDispatcher(deliveryServices, { periodicSweep: true });
    cleanups.push(() => webhooks.close());
    // Pushed last, so the close runs it first, with everything still open: the in-doubt accepts
    // this process still holds are checked once more and any left unsettled are logged
    // (jobs/in-doubt.ts; docs/ARCHITECTURE.md, In-doubt accepts).
    const inDoubtDb = db;
    cleanups.push(() => flushInDoubtAccepts(inDoubtDb, logger));

    const runtime: Runtime = {
      config,
      logger,
      db,
      redis,
      rateLimiter,
      credentials: createCredentialCache({ ttlMs: config.CREDENTIAL_CACHE_MS }),
      catalog,
      providers,
      storage,
      signer,
      queue,
      webhooks,
      jobEvents,
      metrics: observed.metrics,
      async close() {
        for (const cleanup of cleanups.reverse()) await cleanup();
      },
    };
    if (backfill) registerBackfill(runtime, backfill);
    return runtime;
  } catch (err) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    throw err;
  }
}

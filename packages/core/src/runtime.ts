/**
 * The composition root shared by the API server, the worker and the CLI: opens
 * the database (and migrates it), Redis when configured, and the domain services.
 * Everything is created once here and passed down; nothing reads globals.
 */
import { Redis } from "ioredis";
import type { Config } from "./config.ts";
import { ConfigError } from "./config.ts";
import { createLogger, redactValues, type Logger } from "./logger.ts";
import { attachMetrics, type Metrics } from "./observability/index.ts";
import { openDatabase, type Database } from "./db/index.ts";
import { migrate } from "./db/migrate.ts";
import { acquireDataDirLock } from "./data-dir-lock.ts";
import { createCredentialCache, type CredentialCache } from "./auth/credential-cache.ts";
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from "./auth/rate-limit.ts";
import { loadCatalog, type Catalog } from "./pricing/catalog.ts";
import { createProviders, type Providers, type ProvidersOptions } from "./providers/registry.ts";
import { createBreakerRegistry } from "./providers/circuit-breaker.ts";
import { createAssetStorage } from "./assets/create-storage.ts";
import type { AssetStorage } from "./assets/storage.ts";
import { createRenderPool, renderPoolOptions } from "./media/render-pool.ts";
import { useFfmpegBinary } from "./media/ffmpeg.ts";
import { createUrlSigner, loadSigningSecret, type UrlSigner } from "./assets/signed-urls.ts";
import { createInProcessQueue, type JobQueue } from "./jobs/queue.ts";
import { createBullQueue } from "./jobs/bullmq-queue.ts";
import { processJob } from "./jobs/process.ts";
import { startReconciler } from "./jobs/reconciler.ts";
import { recordTrainingVoice } from "./characters/characters.ts";
import { createInProcessJobEndSignal, createRedisJobEndSignal, type JobEndSignal } from "./jobs/job-events.ts";
import { loadGlobalCards } from "./cards/globals.ts";
import { registerBackfill, startEmbeddingBackfill } from "./cards/embedding-queue.ts";
import { connectionOf } from "./jobs/bullmq-queue.ts";
import { createBullWebhookDispatcher, createInProcessWebhookDispatcher, type WebhookDispatcher } from "./webhooks/dispatcher.ts";

export interface Runtime {
  config: Config;
  logger: Logger;
  db: Database;
  redis: Redis | null;
  rateLimiter: RateLimiter;
  /** Resolved keys and tokens, trusted for at most CREDENTIAL_CACHE_MS. */
  credentials: CredentialCache;
  catalog: Catalog;
  providers: Providers;
  storage: AssetStorage;
  signer: UrlSigner;
  /** Where new jobs go: the in-process runner, or BullMQ when REDIS_URL is set. */
  queue: JobQueue;
  /** "This job ended" (cancel, deadline) for the process running it: Redis pub/sub, or in-process. */
  jobEvents: JobEndSignal;
  /** Outbound job webhooks (webhooks/): schedules delivery attempts on BullMQ's `webhooks` queue, or in-process. */
  webhooks: WebhookDispatcher;
  /** This runtime's Prometheus registry and counters (observability/metrics.ts). */
  metrics: Metrics;
  close(): Promise<void>;
}

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
    const jobEvents = redis && config.REDIS_URL ? createRedisJobEndSignal(redis, config.REDIS_URL, config.REDIS_PREFIX) : createInProcessJobEndSignal();
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
      queue: undefined as unknown as JobQueue,
      webhooks: undefined as unknown as WebhookDispatcher,
      jobEvents,
      metrics: observed.metrics,
      async close() {
        for (const cleanup of cleanups.reverse()) await cleanup();
      },
    };
    if (config.REDIS_URL) {
      runtime.queue = createBullQueue({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX });
    } else {
      // Embedded default: this process runs the jobs it accepts (the server, or a CLI command).
      runtime.queue = createInProcessQueue({
        processor: (jobId, attempt) => processJob(runtime, jobId, attempt),
        concurrency: config.WORKER_CONCURRENCY,
        ...(config.LANE_WORKSPACE_CONCURRENCY !== undefined ? { workspaceConcurrency: config.LANE_WORKSPACE_CONCURRENCY } : {}),
        ...(options.retryBackoffMs !== undefined ? { backoffMs: options.retryBackoffMs } : {}),
        onError: (jobId, err) => logger.error({ err, jobId }, "job processor failed"),
      });
      if (options.role === "server" && options.reconciler !== false) {
        const reconciler = startReconciler(runtime);
        cleanups.push(() => reconciler.stop());
      }
    }
    if (options.role === "server") {
      // Global cards from the catalog file (cards/globals.ts), and the background embedding of
      // cards whose vector is pending (cards/embedding-queue.ts; idle without an embedding model).
      await loadGlobalCards(runtime, config.CARDS_GLOBAL_CATALOG);
      const backfill = startEmbeddingBackfill(runtime);
      registerBackfill(runtime, backfill);
      cleanups.push(() => backfill.stop());
    }
    const queue = runtime.queue;
    cleanups.push(() => queue.close());
    // Webhook deliveries: BullMQ workers consume them where jobs run (`aeriox worker`); every process adds
    // and sweeps (webhooks/dispatcher.ts). Closed before the queue and the database (cleanups run in reverse).
    const webhooks = config.REDIS_URL
      ? createBullWebhookDispatcher(runtime, { connection: connectionOf(config.REDIS_URL), prefix: config.REDIS_PREFIX, consume: options.role === "worker", periodicSweep: options.role !== "cli" })
      : createInProcessWebhookDispatcher(runtime, { periodicSweep: true });
    runtime.webhooks = webhooks;
    cleanups.push(() => webhooks.close());
    return runtime;
  } catch (err) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    throw err;
  }
}

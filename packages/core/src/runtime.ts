/**
 * The services a process runs with (the API server, the worker, a CLI command): types only. Domain
 * code takes a `Runtime` (or a `Pick` of it) and imports nothing back from where it is built;
 * `createRuntime` in bootstrap.ts is the composition root that builds one.
 */
import type { Redis } from "ioredis";
import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./observability/index.ts";
import type { Database } from "./db/index.ts";
import type { CredentialCache } from "./auth/credential-cache.ts";
import type { RateLimiter } from "./auth/rate-limit.ts";
import type { Catalog } from "./pricing/catalog.ts";
import type { Providers } from "./providers/registry.ts";
import type { AssetStorage } from "./assets/storage.ts";
import type { UrlSigner } from "./assets/signed-urls.ts";
import type { JobQueue } from "./jobs/queue.ts";
import type { JobEndSignal } from "./jobs/job-events.ts";
import type { WebhookDispatcher } from "./webhooks/dispatcher.ts";

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

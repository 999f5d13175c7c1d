/**
 * The one place that reads the environment. Every variable is validated here and
 * documented in `.env.example`; a bad value stops start-up with a one-line reason
 * naming the variable.
 */
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { PROVIDERS, type ProviderName } from "./providers/descriptors.ts";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"])
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL (${protocols.join(" or ")})`);

const list = z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean));

const breakerThreshold = z.coerce.number().int().min(1).max(10_000);
const breakerCoolDown = z.coerce.number().int().min(100).max(3_600_000);

/** `BREAKER_<PROVIDER>_FAILURE_THRESHOLD` / `_COOLDOWN_MS`, optional, for every row of providers/descriptors.ts. */
type PerProviderBreakerShape = { [P in ProviderName as `BREAKER_${Uppercase<P>}_FAILURE_THRESHOLD`]: z.ZodOptional<typeof breakerThreshold> } & {
  [P in ProviderName as `BREAKER_${Uppercase<P>}_COOLDOWN_MS`]: z.ZodOptional<typeof breakerCoolDown>;
};
const perProviderBreakers = Object.fromEntries(
  PROVIDERS.flatMap((p) => [
    [`BREAKER_${p.toUpperCase()}_FAILURE_THRESHOLD`, breakerThreshold.optional()],
    [`BREAKER_${p.toUpperCase()}_COOLDOWN_MS`, breakerCoolDown.optional()],
  ]),
) as PerProviderBreakerShape;

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  PUBLIC_URL: url(["http:", "https:"]).optional(),
  DATA_DIR: z.string().min(1).default("./.aeriox"),
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/, "letters, digits, ':', '_' or '-' only").default("aeriox"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  RESPONSE_VALIDATION: bool.optional(),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  /** Deepest nesting of arrays/objects a JSON body may have; checked right after parsing, before validation (ARCHITECTURE.md, Errors and inputs). */
  BODY_MAX_DEPTH: z.coerce.number().int().min(4).max(256).default(32),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** How long a process may trust a resolved key or token without the database: the longest a revocation takes to reach every process. */
  CREDENTIAL_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(1000),
  KEY_ROTATION_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 86400).default(86400),
  /** Keys that work and are not being rotated away, per workspace: per-key rate limits must not multiply without bound. */
  MAX_ACTIVE_KEYS_PER_WORKSPACE: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Per client address on the public endpoints: OAuth's (token, consent, authorize, revoke) take secrets, so they get a smaller budget. */
  IP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  OAUTH_IP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(120),
  /** An `in_progress` Idempotency-Key claim older than this was left by a crashed process and may be taken over. */
  IDEMPOTENCY_LEASE_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  TRIAL_CREDIT_USD: z.coerce.number().min(0).max(1000).default(5),
  /** Checked against a counter kept with the holds (`wallets.held_count`), not a count of rows: a large cap costs nothing per submit. */
  MAX_INFLIGHT_JOBS_PER_WORKSPACE: z.coerce.number().int().min(1).max(1_000_000).default(20),
  JOB_DEADLINE_SECONDS: z.coerce.number().int().min(5).max(86400).default(900),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
  /** How long a BullMQ worker's lock on a job lasts; a worker that dies is noticed after about this long. */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  WORKER_STALLED_CHECK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  /** Jobs one workspace runs at once in a provider lane (ARCHITECTURE.md, Jobs, fair scheduling); default: half the lane, rounded up. */
  LANE_WORKSPACE_CONCURRENCY: z.coerce.number().int().min(1).max(1000).optional(),
  /** Worker threads for local media rendering (ARCHITECTURE.md, Jobs, "Rendering"); one core stays free for HTTP. */
  RENDER_THREADS: z.coerce.number().int().min(1).max(256).default(() => Math.max(1, os.availableParallelism() - 1)),
  RENDER_MAX_HEAP_MB: z.coerce.number().int().min(32).max(65_536).default(512),
  RENDER_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  RENDER_MAX_PIXELS: z.coerce.number().int().min(1024).max(268_435_456).default(4096 * 4096),
  RENDER_MAX_AUDIO_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** The ffmpeg binary for video, audio and compose work (media/ffmpeg.ts); default the static build bundled by @ffmpeg-installer/ffmpeg (distro builds point this at their own). */
  FFMPEG_PATH: z.string().min(1).optional(),
  ASSET_URL_TTL_SECONDS: z.coerce.number().int().min(10).max(7 * 86400).default(3600),
  ASSET_URL_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Largest `POST /v1/assets` body in bytes (413 beyond it, checked while streaming; the body is never held whole). */
  ASSET_UPLOAD_MAX_BYTES: z.coerce.number().int().min(1024).max(5 * 1024 * 1024 * 1024).default(50 * 1024 * 1024),
  /** Where asset bytes live (ARCHITECTURE.md, Asset storage): `local` (DATA_DIR/assets) or an S3-compatible bucket every process can read. Credentials: the AWS SDK's default chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, …). */
  ASSET_STORE: z.enum(["local", "s3"]).default("local"),
  S3_BUCKET: z.string().min(3).max(255).optional(),
  S3_ENDPOINT: url(["http:", "https:"]).optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_FORCE_PATH_STYLE: bool.default(false),
  /** Downloads answer 302 to a short-lived presigned GET on the bucket instead of streaming through the API. */
  S3_PRESIGNED_DOWNLOADS: bool.default(false),
  OAUTH_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(900),
  PROMPT_BLOCKLIST: list.optional(),
  PRICING_FILE: z.string().min(1).optional(),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_/, "must start with sk_test_, sk_live_, rk_test_ or rk_live_").optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_/, "must start with whsec_").optional(),
  /** After a declined auto-recharge the next waits this long, doubling per failure in a row up to the max (ARCHITECTURE.md, Money). */
  AUTO_RECHARGE_BACKOFF_SECONDS: z.coerce.number().min(0.1).max(86400).default(60),
  AUTO_RECHARGE_BACKOFF_MAX_SECONDS: z.coerce.number().min(1).max(30 * 86400).default(86400),
  FAL_KEY: z.string().min(1).optional(),
  ELEVENLABS_API_KEY: z.string().min(1).optional(),
  /** Outbound fetches (net/guarded-fetch.ts): operators whose image hosts live on a private network opt in. */
  FETCH_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  FETCH_MAX_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(10 * 1024 * 1024),
  /**
   * Card search (cards/embedding.ts, search.ts): a real embedding model when one is configured — Voyage
   * (VOYAGE_API_KEY) or any OpenAI-compatible `/embeddings` endpoint (EMBEDDINGS_BASE_URL, e.g. a local
   * embedding server; wins when both are set) — else lexical full-text search. SEARCH_REQUIRE_SEMANTIC=true
   * answers 503 `search_unavailable` instead of falling back to lexical.
   */
  VOYAGE_API_KEY: z.string().min(1).optional(),
  VOYAGE_MODEL: z.string().min(1).max(100).default("voyage-3.5-lite"),
  EMBEDDINGS_BASE_URL: url(["http:", "https:"]).optional(),
  EMBEDDINGS_MODEL: z.string().min(1).max(200).optional(),
  EMBEDDINGS_API_KEY: z.string().min(1).optional(),
  /** One embedding request (card create, a query, a backfill batch) may take this long. */
  EMBEDDINGS_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  SEARCH_REQUIRE_SEMANTIC: bool.default(false),
  /** The global cards' catalog file (cards/globals.ts); default the shipped `packages/core/data/cards.global.v1.json`. */
  CARDS_GLOBAL_CATALOG: z.string().min(1).optional(),
  /** GET /metrics (Prometheus) is public unless this is set; then it needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** `aeriox worker` serves its own GET /metrics on this port (the API serves it on PORT); unset: no metrics listener. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /**
   * Circuit breakers (ARCHITECTURE.md, Jobs; providers/circuit-breaker.ts): a provider's breaker opens after
   * BREAKER_FAILURE_THRESHOLD retryable failures within BREAKER_WINDOW_MS, counted across every process, and
   * stays open BREAKER_COOLDOWN_MS before one trial call. BREAKER_<PROVIDER>_* override them per provider.
   */
  BREAKER_FAILURE_THRESHOLD: breakerThreshold.default(5),
  BREAKER_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  BREAKER_COOLDOWN_MS: breakerCoolDown.default(30_000),
  ...perProviderBreakers,
  /**
   * Outbound job webhooks (webhooks/, ARCHITECTURE.md, Webhooks): one attempt may take WEBHOOK_TIMEOUT_MS; a failed one
   * is retried after WEBHOOK_RETRY_BASE_MS, doubling per attempt up to WEBHOOK_RETRY_MAX_MS, until
   * WEBHOOK_RETRY_WINDOW_SECONDS after the event (then `failed`). WEBHOOK_CONCURRENCY attempts run at once per process.
   */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(4 * 3_600_000),
  WEBHOOK_RETRY_WINDOW_SECONDS: z.coerce.number().int().min(1).max(7 * 86400).default(86400),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(10),
  MAX_WEBHOOK_ENDPOINTS_PER_WORKSPACE: z.coerce.number().int().min(1).max(1000).default(20),
  /** SIGTERM: how long `aeriox serve` / `aeriox worker` may take to finish in-flight requests and jobs before exiting. */
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(25),
  /**
   * SIGTERM: `aeriox serve` keeps accepting this long while /readyz answers 503 and responses say
   * `Connection: close`, so load balancers take it out of rotation before its listener closes (at most half
   * of SHUTDOWN_TIMEOUT_SECONDS); 0 closes the listener at once.
   */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  /** Absolute data folder (PGlite database, assets, admin token, signing keys). */
  dataDir: string;
  /** Base URL the API is reachable at, used for absolute asset URLs and OAuth issuer. */
  publicUrl: string;
  /** Embedded default: PGlite in DATA_DIR (no DATABASE_URL) and in-process job runner (no REDIS_URL). */
  databaseKind: "pglite" | "postgres";
  queueKind: "inprocess" | "bullmq";
  responseValidation: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Reads and validates the environment; throws ConfigError whose message names the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    throw new ConfigError(`Invalid environment variable ${name}: ${issue.message}`);
  }
  const e = parsed.data;
  if (e.ASSET_STORE === "s3" && !e.S3_BUCKET) throw new ConfigError("Invalid environment variable S3_BUCKET: required when ASSET_STORE=s3");
  if (e.ASSET_STORE !== "s3" && e.S3_PRESIGNED_DOWNLOADS) throw new ConfigError("Invalid environment variable S3_PRESIGNED_DOWNLOADS: presigned downloads need ASSET_STORE=s3");
  if (e.EMBEDDINGS_BASE_URL && !e.EMBEDDINGS_MODEL) throw new ConfigError("Invalid environment variable EMBEDDINGS_MODEL: required when EMBEDDINGS_BASE_URL is set");
  const port = e.PORT;
  return {
    ...e,
    dataDir: path.resolve(e.DATA_DIR),
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ""),
    databaseKind: e.DATABASE_URL ? "postgres" : "pglite",
    queueKind: e.REDIS_URL ? "bullmq" : "inprocess",
    responseValidation: e.RESPONSE_VALIDATION ?? e.NODE_ENV !== "production",
  };
}

/**
 * Prometheus metrics of one runtime (ARCHITECTURE.md, Operations). Each runtime owns a
 * prom-client `Registry` (never the global default one: tests start several servers in
 * one process, and each must count only its own traffic). Every label is bounded:
 * operationIds from the spec (or `unmatched`), status codes, job types and states from
 * the schema's enums, provider names from the catalog, provider error kinds — never a
 * path, an id or a workspace.
 *
 * Counters move where things happen: the access log (HTTP), authentication (429s), the
 * provider registry (calls, errors), job settlement (terminal transitions, captures,
 * releases, wait and run times) and job acceptance (reservations). Gauges that describe
 * state (jobs queued/running, queue depth per lane, circuit state) are read on scrape,
 * each with one bounded query, so an idle server does no work for them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { JobStatus, JobType } from "../db/generated/enums.ts";
import type { Database } from "../db/index.ts";
import { PROVIDERS } from "../pricing/catalog.ts";
import { isProviderError } from "../providers/errors.ts";
import type { LaneDepth } from "../jobs/queue.ts";

/** What the on-scrape gauges read; supplied by the runtime that owns the registry. */
export interface MetricsSources {
  db: Pick<Database, "query">;
  /** Waiting/running counts per provider lane (the in-process runner's lanes, or BullMQ's `getJobCounts`). */
  queueDepths?: (lanes: readonly string[]) => Promise<LaneDepth[]>;
}

export type CircuitStateReader = (provider: string) => "closed" | "open" | "half_open";

/** Labels of one terminal transition, as the settlement path knows them. */
export interface SettledJob {
  type: string;
  status: string;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

export interface Metrics {
  readonly registry: Registry;
  /** One finished HTTP request (the access log calls this). */
  observeRequest(operation: string, status: number, seconds: number): void;
  /** A 429 from a rate limit: `key` (per credential), `public` or `oauth` (per client address). */
  rateLimited(bucket: "key" | "public" | "oauth"): void;
  /** Wraps one provider call: counts it and, when it fails, its error kind. */
  observeProviderCall<T>(provider: string, call: Promise<T>): Promise<T>;
  /** The registry's breakers, read on scrape. */
  readCircuitsFrom(reader: CircuitStateReader): void;
  /** A hold was placed (a job was accepted). */
  reserved(micros: bigint): void;
  /** A job reached a terminal state and its hold was settled (captured or released) in the same transaction. */
  settled(job: SettledJob, settlement: { status: "captured" | "released"; heldMicros: bigint; capturedMicros: bigint }): void;
  /** The registry's text exposition (Prometheus format). */
  scrape(): Promise<{ contentType: string; body: string }>;
  close(): void;
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600];
const CIRCUIT_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
const ACTIVE_STATES = [JobStatus.queued, JobStatus.running] as const;
const TERMINAL_STATES = [JobStatus.completed, JobStatus.failed, JobStatus.cancelled, JobStatus.nsfw_blocked] as const;
const JOB_TYPES = Object.values(JobType);

/** Money is counted exactly in micros and exposed in USD on scrape (no float drift across many additions). */
class UsdTotal {
  micros = 0n;
  add(micros: bigint): void {
    this.micros += micros;
  }
  get usd(): number {
    return Number(this.micros) / 1e6;
  }
}

export function createMetrics(sources: MetricsSources, options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const http = new Histogram({
    name: "aeriox_http_request_duration_seconds",
    help: "HTTP requests by operationId (spec operation, or `unmatched`) and status, time to the last byte.",
    labelNames: ["operation", "status"] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  // One child per (operation, status), made once: a request costs two Map lookups and prom-client's observe.
  const httpChildren = new Map<string, Map<number, { observe(v: number): void }>>();

  const rateLimited = new Counter({
    name: "aeriox_rate_limit_rejections_total",
    help: "Requests refused with 429 rate_limited, by limit: key (per credential), public or oauth (per client address).",
    labelNames: ["bucket"] as const,
    registers: [registry],
  });

  const providerCalls = new Counter({
    name: "aeriox_provider_calls_total",
    help: "Provider calls (one per job attempt, prism delegates included) by provider and outcome (ok, error).",
    labelNames: ["provider", "outcome"] as const,
    registers: [registry],
  });
  const providerErrors = new Counter({
    name: "aeriox_provider_errors_total",
    help: "Failed provider calls by provider and error kind (client, server, timeout, nsfw, unavailable, circuit_open, unknown).",
    labelNames: ["provider", "kind"] as const,
    registers: [registry],
  });
  let circuitOf: CircuitStateReader | null = null;
  new Gauge({
    name: "aeriox_provider_circuit_state",
    help: "Circuit breaker per provider: 0 closed, 1 half-open, 2 open (calls refused with circuit_open).",
    labelNames: ["provider"] as const,
    registers: [registry],
    collect() {
      if (!circuitOf) return;
      for (const provider of PROVIDERS) this.set({ provider }, CIRCUIT_VALUE[circuitOf(provider)]);
    },
  });

  new Gauge({
    name: "aeriox_jobs",
    help: "Jobs queued or running, by type and state (read from the database on scrape).",
    labelNames: ["type", "state"] as const,
    registers: [registry],
    async collect() {
      // Uses the (status, deadline_at) index; the result has at most types × 2 rows.
      const rows = await sources.db.query<{ type: string; status: string; n: bigint }>(
        `SELECT type::text AS type, status::text AS status, count(*)::bigint AS n FROM jobs WHERE status IN ('queued', 'running') GROUP BY 1, 2`,
        [],
      );
      for (const type of JOB_TYPES) for (const state of ACTIVE_STATES) this.set({ type, state }, 0);
      for (const row of rows) this.set({ type: row.type, state: row.status }, Number(row.n));
    },
  });
  const finished = new Counter({
    name: "aeriox_jobs_finished_total",
    help: "Terminal transitions by job type and state (completed, failed, cancelled, nsfw_blocked), counted by the process that settled them.",
    labelNames: ["type", "state"] as const,
    registers: [registry],
  });
  // Every (type, state) starts at 0, so rate() works from the first scrape.
  for (const type of JOB_TYPES) for (const state of TERMINAL_STATES) finished.inc({ type, state }, 0);
  const waitTime = new Histogram({
    name: "aeriox_job_wait_seconds",
    help: "Time from acceptance to the first start (queued → running), by job type; observed when the job settles.",
    labelNames: ["type"] as const,
    buckets: JOB_BUCKETS,
    registers: [registry],
  });
  const runTime = new Histogram({
    name: "aeriox_job_run_seconds",
    help: "Time from the first start to the terminal state, by job type and state (retries included).",
    labelNames: ["type", "state"] as const,
    buckets: JOB_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: "aeriox_queue_jobs",
    help: "Queue depth per provider lane: waiting, active, delayed (BullMQ: one ticket per workspace with waiting work; in-process: jobs).",
    labelNames: ["lane", "state"] as const,
    registers: [registry],
    async collect() {
      if (!sources.queueDepths) return;
      this.reset();
      for (const d of await sources.queueDepths(PROVIDERS)) this.set({ lane: d.lane, state: d.state }, d.count);
    },
  });

  // Wallet: counts, and USD summed exactly in micros and converted once per scrape.
  const usd = { reserved: new UsdTotal(), captured: new UsdTotal(), released: new UsdTotal() };
  const walletCounter = (name: string, help: string, total?: UsdTotal) =>
    new Counter({
      name,
      help,
      registers: [registry],
      ...(total
        ? {
            collect(this: Counter) {
              this.reset();
              this.inc(total.usd);
            },
          }
        : {}),
    });
  const reservations = walletCounter("aeriox_wallet_reservations_total", "Holds placed (one per accepted job).");
  walletCounter("aeriox_wallet_reserved_usd_total", "USD reserved by holds.", usd.reserved);
  const captures = walletCounter("aeriox_wallet_captures_total", "Holds captured (completed jobs): the ledger's capture entries.");
  walletCounter("aeriox_wallet_captured_usd_total", "USD captured (debited from balances): minus the sum of the ledger's capture entries.", usd.captured);
  const releases = walletCounter("aeriox_wallet_releases_total", "Holds released whole (failed, cancelled, blocked jobs).");
  walletCounter("aeriox_wallet_released_usd_total", "USD returned to available balances: released holds, plus the unspent part of captured holds.", usd.released);

  return {
    registry,
    observeRequest(operation, status, seconds) {
      let byStatus = httpChildren.get(operation);
      if (!byStatus) httpChildren.set(operation, (byStatus = new Map()));
      let child = byStatus.get(status);
      if (!child) byStatus.set(status, (child = http.labels(operation, String(status))));
      child.observe(seconds);
    },
    rateLimited(bucket) {
      rateLimited.inc({ bucket });
    },
    observeProviderCall(provider, call) {
      return call.then(
        (result) => {
          providerCalls.inc({ provider, outcome: "ok" });
          return result;
        },
        (err: unknown) => {
          providerCalls.inc({ provider, outcome: "error" });
          providerErrors.inc({ provider, kind: errorKind(err) });
          throw err;
        },
      );
    },
    readCircuitsFrom(reader) {
      circuitOf = reader;
    },
    reserved(micros) {
      reservations.inc();
      usd.reserved.add(micros);
    },
    settled(job, settlement) {
      finished.inc({ type: job.type, state: job.status });
      if (job.startedAt) {
        waitTime.observe({ type: job.type }, Math.max(0, job.startedAt.getTime() - job.createdAt.getTime()) / 1000);
        const end = job.completedAt ?? new Date();
        runTime.observe({ type: job.type, state: job.status }, Math.max(0, end.getTime() - job.startedAt.getTime()) / 1000);
      }
      if (settlement.status === "captured") {
        captures.inc();
        usd.captured.add(settlement.capturedMicros);
        usd.released.add(settlement.heldMicros - settlement.capturedMicros);
      } else {
        releases.inc();
        usd.released.add(settlement.heldMicros);
      }
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    close() {
      registry.clear();
    },
  };
}

/** The provider error's kind (a closed set), `circuit_open` for breaker refusals, else `unknown`. */
function errorKind(err: unknown): string {
  if (!isProviderError(err)) return "unknown";
  return err.code === "circuit_open" ? "circuit_open" : err.kind;
}

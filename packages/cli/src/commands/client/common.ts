/**
 * What every client command shares: `--api-key/--base-url/--json`, building the SDK client
 * from flags > env > profile, mapping SDK errors to the CLI's exit codes, following jobs with
 * a progress bar (TTY) or NDJSON events (JSON mode), saving outputs and printing tables.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command, CommandUnknownOpts, OptionValues } from "@commander-js/extra-typings";
import { Aeriox, AerioxError, APIConnectionError, APITimeoutError, JobFailedError, type Job, type PagePromise } from "@aeriox/sdk";
import { CommandError, UsageError, wantsJson } from "../../output.ts";
import { MISSING_KEY_HELP, resolveSettings } from "../../profile.ts";
import { commandName } from "../../invocation.ts";
import { MissingApiKeyError } from "./spec-ops.ts";

export interface ClientOptions {
  apiKey?: string | undefined;
  baseUrl?: string | undefined;
  json?: boolean | undefined;
}

/** Adds the options every client command accepts (after its own: help lists them last). */
export function clientCommand<A extends unknown[], O extends OptionValues, G extends OptionValues>(cmd: Command<A, O, G>) {
  return cmd
    .option("--api-key <key>", "API key (default: AERIOX_API_KEY, then the `aeriox login` profile)")
    .option("--base-url <url>", "API base URL (default: AERIOX_BASE_URL, then the profile, then http://localhost:8080)")
    .option("--json", "print JSON (automatic when stdout is not a terminal)");
}

/** A client command's flags: its own and the client options. */
export type ClientFlags<O extends OptionValues> = ReturnType<ReturnType<typeof clientCommand<[], O, OptionValues>>["opts"]>;

/**
 * The usual client command: adds the client options, then on run builds the client, calls the
 * API with the arguments and flags and prints the response as JSON or as `human(response)`.
 */
export function clientCall<A extends unknown[], O extends OptionValues, G extends OptionValues, R>(
  cmd: Command<A, O, G>,
  call: (client: Aeriox, ...args: [...A, ClientFlags<O>]) => PromiseLike<R>,
  human: (res: R, ...args: [...A, ClientFlags<O>]) => string,
  { needsKey = true } = {},
): void {
  const command = clientCommand(cmd);
  command.action(
    action(async () => {
      const flags = command.opts();
      const res = await call(makeClient(flags, { needsKey }), ...command.processedArgs, flags);
      output(flags, res, () => human(res, ...command.processedArgs, flags));
    }),
  );
}

export function makeClient(opts: ClientOptions, { needsKey = true } = {}): Aeriox {
  const settings = resolveSettings(opts);
  if (needsKey && !settings.apiKey) throw new UsageError(MISSING_KEY_HELP);
  return new Aeriox({ apiKey: settings.apiKey, baseUrl: settings.baseUrl, maxRetries: settings.maxRetries });
}

/** Turns SDK failures into the CLI's errors: API error → exit 1 with `code: message (request id …)`. */
export function toCliError(err: unknown, baseUrl?: string): unknown {
  if (err instanceof UsageError || err instanceof CommandError) return err;
  if (err instanceof MissingApiKeyError) return new UsageError(MISSING_KEY_HELP);
  if (err instanceof JobFailedError) {
    const job = err.job;
    return new CommandError(`job ${job.job_id} ended ${job.status}: ${err.message}`, err.code ?? job.status);
  }
  if (err instanceof APITimeoutError && err.code === "deadline_exceeded") return new CommandError(err.message, "deadline_exceeded");
  if (err instanceof APIConnectionError) {
    const cause = (err.cause as { cause?: { code?: string; message?: string }; message?: string } | undefined) ?? undefined;
    const detail = cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? err.message;
    return new CommandError(
      `cannot reach the AERIOX API at ${baseUrl ?? "the configured base URL"} (${detail}). Is the server running? Set --base-url or AERIOX_BASE_URL.`,
      err instanceof APITimeoutError ? "timeout" : "connection_error",
    );
  }
  if (err instanceof AerioxError) {
    if (err.code === "missing_api_key") return new UsageError(MISSING_KEY_HELP);
    const rid = err.requestId ? ` (request id ${err.requestId})` : "";
    const fields = (err.details as { fields?: unknown } | undefined)?.fields;
    const fieldList = Array.isArray(fields) ? fields.map((f) => (typeof f === "object" && f ? Object.values(f).join(" ") : String(f))) : [];
    const fieldText = fieldList.length && !fieldList.every((f) => err.message.includes(f)) ? ` [${fieldList.join("; ")}]` : "";
    return new CommandError(`${err.message}${fieldText}${rid}`, err.code ?? `http_${err.status ?? "error"}`);
  }
  if (err instanceof Error && err.name === "AbortError") return new CommandError("interrupted", "interrupted");
  return err;
}

/** Wraps a command action: builds nothing itself, only maps what escapes. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const cmd = args[args.length - 1] as CommandUnknownOpts | undefined;
      let baseUrl: string | undefined;
      try {
        const flags = cmd?.opts?.() ?? {};
        baseUrl = resolveSettings({ apiKey: stringOrUndefined(flags.apiKey), baseUrl: stringOrUndefined(flags.baseUrl) }).baseUrl;
      } catch {
        baseUrl = undefined;
      }
      throw toCliError(err, baseUrl);
    }
  };
}

const stringOrUndefined = (v: unknown) => (typeof v === "string" ? v : undefined);

export function printJsonLine(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

/** Prints `value` as JSON, or the human text. */
export function output(opts: ClientOptions, value: unknown, human: () => string): void {
  process.stdout.write((wantsJson(opts) ? JSON.stringify(value) : human()) + "\n");
}

// ---------- tables ----------

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Rows of any object type: each column is read by name. */
export function table(objects: readonly object[], columns: string[]): string {
  const rows = objects as readonly Record<string, unknown>[];
  if (!rows.length) return "(none)";
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => Math.min(cell(r[c]).length, 60))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > 60 ? v.slice(0, 59) + "…" : v).padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n");
}

export function keyValues(value: object, keys?: string[]): string {
  const obj = value as Record<string, unknown>;
  const entries = (keys ?? Object.keys(obj)).filter((k) => obj[k] !== undefined && obj[k] !== null).map((k) => [k, cell(obj[k])] as const);
  const w = Math.max(0, ...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}

export function usd(v: unknown): string {
  return typeof v === "number" ? `$${v.toFixed(v !== 0 && Math.abs(v) < 0.01 ? 6 : 4).replace(/0+$/, "").replace(/\.$/, ".00")}` : "";
}

// ---------- jobs ----------

const TERMINAL = new Set(["completed", "failed", "cancelled", "nsfw_blocked"]);
export const isTerminal = (job: Pick<Job, "status">) => TERMINAL.has(job.status);

function progressEvent(job: Job) {
  return { event: "progress", job_id: job.job_id, status: job.status, progress_pct: job.progress_pct ?? null };
}

function bar(job: Job): string {
  const pct = Math.max(0, Math.min(100, job.progress_pct ?? (job.status === "completed" ? 100 : 0)));
  const width = 30;
  const filled = Math.round((pct / 100) * width);
  return `\r${job.job_id.slice(0, 8)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(pct).padStart(3)}% ${job.status.padEnd(9)}`;
}

export interface FollowOptions {
  /** Cancel the job when the user interrupts (Ctrl-C). Default true. */
  cancelOnAbort?: boolean;
  /** Seconds before giving up. */
  timeoutS?: number;
}

/**
 * Follows a job to its end: NDJSON `{"event":"progress",…}` lines on stdout in JSON mode, a
 * progress bar on stderr when it is a terminal. Rejects like `jobs.wait` (JobFailedError …).
 */
export async function followJob(client: Aeriox, job: Job, opts: ClientOptions, follow: FollowOptions = {}): Promise<Job> {
  const json = wantsJson(opts);
  const tty = !json && process.stderr.isTTY === true;
  const onProgress = (j: Job) => {
    if (json) printJsonLine(progressEvent(j));
    else if (tty) process.stderr.write(bar(j));
  };
  if (isTerminal(job)) {
    onProgress(job);
    if (tty) process.stderr.write("\n");
    if (job.status !== "completed") throw new JobFailedError(job);
    return job;
  }
  const ctl = new AbortController();
  const onSigint = () => ctl.abort(Object.assign(new Error("interrupted"), { name: "AbortError" }));
  process.once("SIGINT", onSigint);
  onProgress(job);
  try {
    return await client.jobs.wait(job.job_id, {
      onProgress,
      signal: ctl.signal,
      cancelOnAbort: follow.cancelOnAbort ?? true,
      ...(follow.timeoutS !== undefined && { deadline: follow.timeoutS * 1000 }),
    });
  } catch (err) {
    if (ctl.signal.aborted) {
      throw new CommandError(follow.cancelOnAbort === false ? `stopped watching job ${job.job_id}` : `job ${job.job_id} was cancelled (Ctrl-C); its reservation is refunded`, "interrupted");
    }
    throw err;
  } finally {
    process.removeListener("SIGINT", onSigint);
    if (tty) process.stderr.write("\n");
  }
}

/** Output file names for a job's outputs: `out` for the first, `name-2.ext`, `name-3.ext` … after. */
export function outputPaths(out: string, count: number): string[] {
  const ext = path.extname(out);
  const stem = out.slice(0, out.length - ext.length);
  return Array.from({ length: count }, (_, i) => (i === 0 ? out : `${stem}-${i + 1}${ext}`));
}

/** Downloads every output of a finished job to `out` (creating missing folders); returns the paths. */
export async function saveOutputs(client: Aeriox, job: Job, out: string): Promise<string[]> {
  const urls = job.output_urls ?? [];
  const assetIds = job.asset_ids ?? [];
  if (!urls.length && !assetIds.length) throw new CommandError(`job ${job.job_id} completed without outputs to save`, "no_output");
  const count = Math.max(urls.length, assetIds.length);
  const paths = outputPaths(out, count);
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  for (let i = 0; i < count; i++) {
    const assetId = assetIds[i];
    const url = urls[i];
    let res: Response;
    try {
      if (!url) throw new Error("no url");
      res = await client.transport.send(new Request(new URL(url, client.baseUrl)), {});
    } catch (err) {
      // An expired signed URL (or none): sign a fresh one through GET /v1/assets/{id}.
      if (!assetId) throw err;
      res = await client.assets.download(assetId);
    }
    writeFileSync(paths[i]!, new Uint8Array(await res.arrayBuffer()));
  }
  return paths;
}

/** `--no-wait` / wait / save, shared by image, video, speak, compose, prisms apply, characters create. */
export async function finishJob(
  client: Aeriox,
  job: Job,
  opts: ClientOptions & { wait?: boolean; out?: string; timeout?: string },
  extra: Record<string, unknown> = {},
): Promise<void> {
  if (opts.wait === false) {
    output(opts, { ...job, ...extra }, () => `${keyValues({ ...job, ...extra }, ["job_id", "type", "status", "model", "estimated_cost_usd", ...Object.keys(extra)])}\nFollow it with: ${commandName()} jobs watch ${job.job_id}`);
    return;
  }
  const timeoutS = opts.timeout !== undefined ? parsePositive(opts.timeout, "--timeout") : undefined;
  const done = await followJob(client, job, opts, timeoutS !== undefined ? { timeoutS } : {});
  const files = opts.out ? await saveOutputs(client, done, opts.out) : undefined;
  const result = { ...done, ...extra, ...(files && { files }) };
  output(opts, result, () => {
    const lines = [keyValues(result, ["job_id", "status", "model", "charged_cost_usd", ...Object.keys(extra)])];
    if (files) lines.push(...files.map((f) => `saved    ${f}`));
    else for (const u of done.output_urls ?? []) lines.push(`output   ${u}`);
    return lines.join("\n");
  });
}

export function parsePositive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number`);
  return n;
}

export function parseInteger(value: string, flag: string, min = Number.MIN_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` ≥ ${min}` : ""}`);
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A `--flag '{…}'` JSON object. */
export function parseJsonFlag(value: string | undefined, flag: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as Record<string, unknown>;
  } catch {
    throw new UsageError(`${flag} must be a JSON object, e.g. '{"style":"noir"}'`);
  }
}

/** A date or date-time flag as the RFC 3339 instant the API takes (`2026-12-01` is midnight UTC). */
export function parseInstant(value: string, flag: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(value) ? Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be a date (2026-12-01) or an RFC 3339 date-time (2026-12-01T08:00:00Z)`);
  return new Date(ms).toISOString();
}

// ---------- cursor lists ----------

/** The first page of a list, or with `--all` every item as one page (next_cursor null). */
export async function listPage<Page, Item, Params>(list: PagePromise<Page, Item, Params>, all: boolean | undefined): Promise<Page | { data: Item[]; next_cursor: null }> {
  return all ? { data: await list.toArray(), next_cursor: null } : await list;
}

/** The hint under a table whose list has more pages. */
export function moreHint(page: { next_cursor?: string | null | undefined }): string {
  return page.next_cursor ? `\nmore: --cursor ${page.next_cursor}` : "";
}

/**
 * A flag value sent as the API's type without checking it here: the server validates it and its
 * error names the field (a check here would change the message and the exit code).
 */
export function serverChecked<T extends string>(value: string): T {
  return value as T;
}

/**
 * `aeriox jobs list` (GET /v1/jobs, filters as typed flags, `--all` follows the cursor) and
 * `aeriox usage` (GET /v1/usage: a table and a plain-text bar chart; `--json` prints the response).
 */
import { Option, type Command } from "commander";
import type { GetUsageData, ListJobsData } from "@aeriox/sdk";
import { UsageError } from "../../output.ts";
import { action, clientCommand, makeClient, output, parseInteger, table, usd, type ClientOptions } from "./common.ts";

type Flags = ClientOptions & Record<string, any>;

const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled", "nsfw_blocked"];
const JOB_TYPES = ["image", "video", "audio", "compose", "character_train", "prism_apply"];
const GROUPS = ["day", "model", "key", "type"] as const;

/** A date or date-time flag as the RFC 3339 instant the API takes (`2026-12-01` is midnight UTC). */
function parseInstant(value: string, flag: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(value) ? Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be a date (2026-12-01) or an RFC 3339 date-time (2026-12-01T08:00:00Z)`);
  return new Date(ms).toISOString();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BAR_WIDTH = 40;

/** One bar per group, scaled to the largest net spend (plain text: `#` only, any terminal). */
export function barChart(rows: Array<{ label: string; value: number; text: string }>): string {
  if (!rows.length) return "";
  const max = Math.max(...rows.map((r) => r.value), 0);
  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  return rows
    .map((r) => {
      const len = max > 0 ? Math.round((Math.max(r.value, 0) / max) * BAR_WIDTH) : 0;
      return `${r.label.padEnd(labelWidth)} | ${"#".repeat(len || (r.value > 0 ? 1 : 0)).padEnd(BAR_WIDTH)} ${r.text}`.trimEnd();
    })
    .join("\n");
}

export function registerJobsListAndUsage(program: Command): void {
  const jobs = program.commands.find((c) => c.name() === "jobs") ?? program.command("jobs").description("Follow, inspect and cancel jobs");
  clientCommand(
    jobs
      .command("list")
      .description("Jobs of the workspace, newest first (GET /v1/jobs)")
      .addOption(new Option("--status <status>", "only jobs in this state").choices(JOB_STATUSES))
      .addOption(new Option("--type <type>", "only jobs of this type").choices(JOB_TYPES))
      .option("-m, --model <model>", "only jobs on this model")
      .option("--key <key-id>", "only jobs submitted with this API key id")
      .option("--since <date>", "created at or after (2026-12-01 or an RFC 3339 date-time)")
      .option("--until <date>", "created before (2026-12-01 or an RFC 3339 date-time)")
      .option("-n, --limit <n>", "page size (1-100)")
      .option("--cursor <c>", "page cursor (next_cursor of the previous page)")
      .option("--all", "every page"),
  ).action(
    action(async (flags: Flags) => {
      if (flags.key !== undefined && !UUID.test(flags.key)) throw new UsageError("--key must be an API key id (a UUID, as `aeriox api-keys list` shows)");
      const query: NonNullable<ListJobsData["query"]> = {
        ...(flags.status && { status: flags.status }),
        ...(flags.type && { type: flags.type }),
        ...(flags.model && { model: flags.model }),
        ...(flags.key && { api_key_id: flags.key }),
        ...(flags.since && { created_after: parseInstant(flags.since, "--since") }),
        ...(flags.until && { created_before: parseInstant(flags.until, "--until") }),
        ...(flags.limit !== undefined && { limit: parseInteger(flags.limit, "--limit", 1) }),
        ...(flags.cursor && { cursor: flags.cursor }),
      };
      const client = makeClient(flags);
      const res = flags.all ? { data: await client.jobs.list(query).toArray(), next_cursor: null } : await client.jobs.list(query);
      output(flags, res, () =>
        table(
          res.data.map((j) => ({ ...j, cost: usd(j.charged_cost_usd ?? j.estimated_cost_usd), queue: j.queue_position ?? "" })),
          ["job_id", "type", "status", "model", "cost", "queue", "created_at"],
        ) + (res.next_cursor ? `\nmore: --cursor ${res.next_cursor}` : ""),
      );
    }),
  );

  clientCommand(
    program
      .command("usage")
      .description("Jobs and spend over a period, with a bar chart (GET /v1/usage)")
      .option("--from <date>", "start (inclusive; default 30 days before --to)")
      .option("--to <date>", "end (exclusive; default now)")
      .addOption(new Option("-g, --group-by <group>", "split by").choices([...GROUPS]).default("day")),
  ).action(
    action(async (flags: Flags) => {
      const query: NonNullable<GetUsageData["query"]> = {
        group_by: flags.groupBy,
        ...(flags.from && { from: parseInstant(flags.from, "--from") }),
        ...(flags.to && { to: parseInstant(flags.to, "--to") }),
      };
      const res = await makeClient(flags).wallet.usage(query);
      output(flags, res, () => {
        const rows = res.data.map((g) => ({ [res.group_by]: g.key ?? "(none)", jobs: g.jobs, completed: g.completed, failed: g.failed, charged: usd(g.charged_usd), refunded: usd(g.refunded_usd), net: usd(g.net_usd) }));
        const total = res.totals;
        return [
          `Usage ${res.from} → ${res.to} by ${res.group_by}`,
          "",
          table(rows, [res.group_by, "jobs", "completed", "failed", "charged", "refunded", "net"]),
          "",
          `total: ${total.jobs} jobs (${total.completed} completed, ${total.failed} failed, ${total.cancelled} cancelled), net ${usd(total.net_usd)} (${total.net_micros} micro-USD)`,
          ...(res.data.length ? ["", barChart(res.data.map((g) => ({ label: g.key ?? "(none)", value: g.net_micros, text: usd(g.net_usd) })))] : []),
        ].join("\n");
      });
    }),
  );
}

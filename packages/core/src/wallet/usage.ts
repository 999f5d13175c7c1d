/**
 * `GET /v1/usage`: what a workspace spent over a range, from the ledger (ARCHITECTURE.md,
 * Money): `charged` is the captured charges (`capture` entries, negated), `refunded` the
 * `refund` entries (money given back after a capture), `net` = charged − refunded. A job
 * that failed or was cancelled has its hold released, not captured, so it costs nothing and
 * adds no entry. Job counts come from the job rows created in the range. Ledger entries are
 * grouped by their own time (day), their key, and the model and type of the job they settle.
 * Amounts are summed as integer micros in SQL; `*_usd` is derived at the edge.
 * Two statements, each served by a `(workspace_id, created_at…)` index.
 */
import type { Database } from "../db/index.ts";
import { ApiError } from "../errors.ts";
import { instantParam } from "../jobs/list.ts";
import { microsToUsd } from "../money.ts";

export type UsageGroupBy = "day" | "model" | "key" | "type";

export interface UsageQuery {
  from?: string | undefined;
  to?: string | undefined;
  group_by?: UsageGroupBy | undefined;
}

export const USAGE_DEFAULT_DAYS = 30;
export const USAGE_MAX_DAYS = 366;
const DAY_MS = 86_400_000;

interface Figures {
  jobs: number;
  completed: number;
  failed: number;
  cancelled: number;
  charges: number;
  refunds: number;
  charged: bigint;
  refunded: bigint;
}

const zero = (): Figures => ({ jobs: 0, completed: 0, failed: 0, cancelled: 0, charges: 0, refunds: 0, charged: 0n, refunded: 0n });

/** The group key of a row aliased `alias` (time column `at`): a fixed expression per group_by, never caller text. */
function groupKey(groupBy: UsageGroupBy, at: string, keyColumn: string): string {
  switch (groupBy) {
    case "day":
      return `to_char(${at} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
    case "model":
      return "j.model";
    case "type":
      return "j.type::text";
    case "key":
      return `${keyColumn}::text`;
  }
}

function presentFigures(f: Figures) {
  const net = f.charged - f.refunded;
  return {
    jobs: f.jobs,
    completed: f.completed,
    failed: f.failed,
    cancelled: f.cancelled,
    charges: f.charges,
    refunds: f.refunds,
    charged_usd: microsToUsd(f.charged),
    charged_micros: Number(f.charged),
    refunded_usd: microsToUsd(f.refunded),
    refunded_micros: Number(f.refunded),
    net_usd: microsToUsd(net),
    net_micros: Number(net),
  };
}

/** The range of a usage query: `to` defaults to now, `from` to 30 days before `to`; from < to, at most 366 days. */
export function usageRange(query: UsageQuery, now = new Date()): { from: Date; to: Date } {
  const to = query.to !== undefined ? instantParam(query.to, "query.to") : now;
  const from = query.from !== undefined ? instantParam(query.from, "query.from") : new Date(to.getTime() - USAGE_DEFAULT_DAYS * DAY_MS);
  if (from.getTime() >= to.getTime()) {
    throw ApiError.badRequest("invalid_range", "from must be before to", { fields: [{ field: "query.from", message: "must be before `to`" }] });
  }
  if (to.getTime() - from.getTime() > USAGE_MAX_DAYS * DAY_MS) {
    throw ApiError.badRequest("range_too_large", `The range may span at most ${USAGE_MAX_DAYS} days`, { max_days: USAGE_MAX_DAYS, fields: [{ field: "query.from", message: `must be at most ${USAGE_MAX_DAYS} days before \`to\`` }] });
  }
  return { from, to };
}

export async function getUsage(services: { db: Database }, workspaceId: string, query: UsageQuery, now = new Date()) {
  const groupBy: UsageGroupBy = query.group_by ?? "day";
  const { from, to } = usageRange(query, now);
  const params = [workspaceId, from.toISOString(), to.toISOString()];

  const ledger = await services.db.query<{ key: string | null; charges: number; refunds: number; charged: bigint; refunded: bigint }>(
    `SELECT ${groupKey(groupBy, "l.created_at", "l.api_key_id")} AS key,
            count(*) FILTER (WHERE l.kind = 'capture')::int AS charges,
            count(*) FILTER (WHERE l.kind = 'refund')::int AS refunds,
            COALESCE(-sum(l.amount_micros) FILTER (WHERE l.kind = 'capture'), 0)::int8 AS charged,
            COALESCE(sum(l.amount_micros) FILTER (WHERE l.kind = 'refund'), 0)::int8 AS refunded
       FROM ledger_entries l LEFT JOIN jobs j ON j.id = l.job_id
      WHERE l.workspace_id = $1::uuid AND l.kind IN ('capture', 'refund')
        AND l.created_at >= $2::timestamptz AND l.created_at < $3::timestamptz
      GROUP BY 1`,
    params,
  );
  const jobs = await services.db.query<{ key: string | null; jobs: number; completed: number; failed: number; cancelled: number }>(
    `SELECT ${groupKey(groupBy, "j.created_at", "j.api_key_id")} AS key,
            count(*)::int AS jobs,
            count(*) FILTER (WHERE j.status = 'completed')::int AS completed,
            count(*) FILTER (WHERE j.status IN ('failed', 'nsfw_blocked'))::int AS failed,
            count(*) FILTER (WHERE j.status = 'cancelled')::int AS cancelled
       FROM jobs j
      WHERE j.workspace_id = $1::uuid AND j.created_at >= $2::timestamptz AND j.created_at < $3::timestamptz
      GROUP BY 1`,
    params,
  );

  const groups = new Map<string | null, Figures>();
  const groupOf = (key: string | null) => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = zero()));
    return g;
  };
  const totals = zero();
  for (const row of ledger) {
    const g = groupOf(row.key);
    for (const f of [g, totals]) {
      f.charges += row.charges;
      f.refunds += row.refunds;
      f.charged += BigInt(row.charged);
      f.refunded += BigInt(row.refunded);
    }
  }
  for (const row of jobs) {
    const g = groupOf(row.key);
    for (const f of [g, totals]) {
      f.jobs += row.jobs;
      f.completed += row.completed;
      f.failed += row.failed;
      f.cancelled += row.cancelled;
    }
  }
  const data = [...groups.entries()].map(([key, f]) => ({ key, ...presentFigures(f) }));
  // Days in order; other groups by what they cost, most first (then by key, nulls last).
  if (groupBy === "day") data.sort((a, b) => String(a.key).localeCompare(String(b.key)));
  else data.sort((a, b) => b.net_micros - a.net_micros || b.jobs - a.jobs || (a.key === null ? 1 : b.key === null ? -1 : a.key.localeCompare(b.key)));
  return { from: from.toISOString(), to: to.toISOString(), group_by: groupBy, currency: "USD" as const, totals: presentFigures(totals), data };
}

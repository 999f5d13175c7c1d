/** `aeriox usage`: jobs and spend over a period (GET /v1/usage): a table and a plain-text bar chart; `--json` prints the response. */
import { Option, type Command } from "@commander-js/extra-typings";
import { action, clientCommand, makeClient, output, parseInstant, table, usd } from "./common.ts";

const GROUPS = ["day", "model", "key", "type"] as const;
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

export function registerUsage(program: Command): void {
  clientCommand(
    program
      .command("usage")
      .description("Jobs and spend over a period, with a bar chart (GET /v1/usage)")
      .option("--from <date>", "start (inclusive; default 30 days before --to)")
      .option("--to <date>", "end (exclusive; default now)")
      .addOption(new Option("-g, --group-by <group>", "split by").choices(GROUPS).default("day")),
  ).action(
    action(async (flags) => {
      // The dates are checked before the key (a usage error first).
      const query = {
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

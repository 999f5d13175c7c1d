/** `aeriox jobs get | watch | cancel | list`: follow, inspect, cancel and list jobs (GET/DELETE /v1/jobs…). */
import { Option, type Command } from "@commander-js/extra-typings";
import { isUuid } from "@aeriox/core/ids";
import type { Job } from "@aeriox/sdk";
import { UsageError } from "../../output.ts";
import {
  action, clientCall, clientCommand, followJob, keyValues, listPage, makeClient, moreHint, output, parseInstant, parseInteger,
  parsePositive, saveOutputs, table, usd,
} from "./common.ts";

const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled", "nsfw_blocked"] as const;
const JOB_TYPES = ["image", "video", "audio", "compose", "character_train", "prism_apply"] as const;

function jobSummary(job: Job): string {
  return keyValues(job, ["job_id", "type", "status", "model", "progress_pct", "estimated_cost_usd", "charged_cost_usd", "output_urls", "asset_ids", "error", "created_at", "completed_at"]);
}

export function registerJobs(program: Command): void {
  const jobs = program.command("jobs").description("Follow, inspect and cancel jobs");
  clientCall(jobs.command("get").description("Show a job (GET /v1/jobs/{id})").argument("<id>", "job id"), (client, id) => client.jobs.get(id), jobSummary);
  clientCommand(
    jobs
      .command("watch")
      .description("Follow a job until it ends (GET /v1/jobs/{id}/events, falls back to polling); Ctrl-C stops watching without cancelling")
      .argument("<id>", "job id: the job_id that `aeriox image|video|speak … --no-wait` prints, or that a POST /v1/…/generate response returns")
      .option("-o, --out <file>", "save the outputs when it completes")
      .option("--timeout <seconds>", "stop watching after this long"),
  ).action(
    action(async (id, flags) => {
      const client = makeClient(flags);
      const start = await client.jobs.get(id);
      const done = await followJob(client, start, flags, { cancelOnAbort: false, ...(flags.timeout && { timeoutS: parsePositive(flags.timeout, "--timeout") }) });
      const files = flags.out ? await saveOutputs(client, done, flags.out) : undefined;
      output(flags, { ...done, ...(files && { files }) }, () => jobSummary(done) + (files ? "\n" + files.map((f) => `saved  ${f}`).join("\n") : ""));
    }),
  );
  clientCall(
    jobs.command("cancel").description("Cancel a queued or running job and refund its reservation (DELETE /v1/jobs/{id})").argument("<id>", "job id"),
    (client, id) => client.jobs.cancel(id),
    jobSummary,
  );
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
    action(async (flags) => {
      if (flags.key !== undefined && !isUuid(flags.key)) throw new UsageError("--key must be an API key id (a UUID, as `aeriox api-keys list` shows)");
      const query = {
        ...(flags.status && { status: flags.status }),
        ...(flags.type && { type: flags.type }),
        ...(flags.model && { model: flags.model }),
        ...(flags.key && { api_key_id: flags.key }),
        ...(flags.since && { created_after: parseInstant(flags.since, "--since") }),
        ...(flags.until && { created_before: parseInstant(flags.until, "--until") }),
        ...(flags.limit !== undefined && { limit: parseInteger(flags.limit, "--limit", 1) }),
        ...(flags.cursor && { cursor: flags.cursor }),
      };
      const res = await listPage(makeClient(flags).jobs.list(query), flags.all);
      output(flags, res, () =>
        table(
          res.data.map((j) => ({ ...j, cost: usd(j.charged_cost_usd ?? j.estimated_cost_usd), queue: j.queue_position ?? "" })),
          ["job_id", "type", "status", "model", "cost", "queue", "created_at"],
        ) + moreHint(res),
      );
    }),
  );
}

// Quick start: generate an image on a local AERIOX Open server, wait for it, save the PNG.
//
//   pnpm start                                            # terminal 1: API on http://localhost:8080
//   pnpm aeriox keys create --workspace demo              # prints a key once
//   export AERIOX_API_KEY=sk_live_…                       # the key it printed
//   pnpm exec tsx examples/quickstart.ts [out.png]        # terminal 2, from the repo root
//
// Outside this repo, install the SDK (`npm i @aeriox/sdk`) and import from "@aeriox/sdk" instead of
// the workspace source path below.
import { Aeriox, AerioxError, CostLimitError, JobFailedError } from "../packages/sdk/src/index.ts";

const out = process.argv[2] ?? "quickstart.png";

// Reads AERIOX_API_KEY and AERIOX_BASE_URL (default http://localhost:8080).
const client = new Aeriox();

async function main(): Promise<void> {
  const me = await client.me();
  console.log(`workspace ${me.workspace.name ?? me.workspace.id} (key ${me.api_key.prefix})`);

  const image = await client.images.generateAndWait(
    { model: "local/image", prompt: "a lighthouse at dusk, watercolor", aspect_ratio: "1:1" },
    {
      maxCostUsd: 0.5, // ask POST /v1/estimate first and refuse (CostLimitError) if it costs more
      deadline: 60_000, // give up (and cancel the job) after a minute
      onProgress: (job) => console.log(`  ${job.status}${job.progress_pct != null ? ` ${job.progress_pct}%` : ""}`),
    },
  );
  console.log(`job ${image.job_id} completed, charged $${image.charged_cost_usd ?? "?"}`);
  await image.save(out);
  console.log(`saved ${out}`);
}

main().catch((err: unknown) => {
  if (err instanceof CostLimitError) console.error(`too expensive: ${err.message}`);
  else if (err instanceof JobFailedError) console.error(`job ${err.job.job_id} ended ${err.job.status}: ${err.message}`);
  else if (err instanceof AerioxError) console.error(`${err.name} ${err.status ?? ""} ${err.code ?? ""}: ${err.message} (request ${err.requestId ?? "-"})`);
  else console.error(err);
  process.exitCode = 1;
});

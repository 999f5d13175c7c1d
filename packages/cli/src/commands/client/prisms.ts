/** `aeriox prisms [list] | apply`: one-click presets (GET /v1/prisms, POST /v1/prisms/{id}/apply). */
import type { Command } from "@commander-js/extra-typings";
import { UsageError } from "../../output.ts";
import { action, clientCall, clientCommand, finishJob, makeClient, serverChecked, table } from "./common.ts";

export function registerPrisms(program: Command): void {
  const prisms = program.command("prisms").description("One-click presets: list and apply");
  clientCall(
    prisms
      .command("list", { isDefault: true })
      .description("The prism catalog (GET /v1/prisms)")
      .option("--category <c>", "filter by category")
      .option("--compatible-with <kind>", "image, video or audio"),
    (client, flags) => client.prisms.list({ ...(flags.category && { category: flags.category }), ...(flags.compatibleWith && { compatible_with: serverChecked<"image" | "video" | "audio">(flags.compatibleWith) }) }),
    (res) => table(res.data.map((p) => ({ ...p, compatible_with: p.compatible_with.join(",") })), ["id", "name", "category", "compatible_with"]),
  );
  clientCommand(
    prisms
      .command("apply")
      .description("Apply a prism to an asset or to a new generation (POST /v1/prisms/{id}/apply)")
      .argument("<prism-id>", "prism id")
      .option("--asset <id>", "apply to this asset")
      .option("--prompt <text>", "or generate a new image (or video with --video) with this prompt")
      .option("-m, --model <model>", "model for the new generation", "local/image")
      .option("--video", "generate a video instead of an image")
      .option("-o, --out <file>", "write the output here")
      .option("--no-wait", "print the queued job and return")
      .option("--timeout <seconds>", "give up waiting (and cancel) after this long"),
  ).action(
    action(async (id, flags) => {
      if (!flags.asset && !flags.prompt) throw new UsageError("prisms apply needs --asset ID or --prompt TEXT");
      const params = flags.prompt ? { model: flags.model === "local/image" && flags.video ? "local/video" : flags.model, prompt: flags.prompt } : undefined;
      const client = makeClient(flags);
      const job = await client.prisms.apply(id, {
        ...(flags.asset && { asset_id: flags.asset }),
        ...(params && (flags.video ? { video_params: params } : { image_params: params })),
      });
      await finishJob(client, job, flags);
    }),
  );
}

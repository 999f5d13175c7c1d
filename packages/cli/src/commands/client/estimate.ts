/** `aeriox estimate`: the cost of a generation without spending (POST /v1/estimate). */
import type { Command } from "@commander-js/extra-typings";
import { clientCall, parseInteger, usd } from "./common.ts";

export function registerEstimate(program: Command): void {
  clientCall(
    program
      .command("estimate")
      .description("Estimate the cost of a generation without spending (POST /v1/estimate)")
      .requiredOption("-m, --model <model>", "model id")
      .requiredOption("-p, --prompt <prompt>", "the prompt (or text)")
      .option("-d, --duration <seconds>", "video length in seconds")
      .option("--image-url <url>", "the start image an image-to-video model will get (never fetched)"),
    (client, flags) =>
      client.estimate({
        model: flags.model,
        prompt: flags.prompt,
        ...(flags.duration !== undefined && { duration: parseInteger(flags.duration, "--duration", 1) }),
        ...(flags.imageUrl !== undefined && { image_url: flags.imageUrl }),
      }),
    (est) =>
      [
        `${est.model}: ${usd(est.usd)} (about ${est.estimated_seconds} s)`,
        est.would_succeed ? "would succeed" : `would be refused: ${est.reasons_blocked.join(", ")}`,
        ...(est.current_balance !== undefined ? [`available balance: ${usd(est.current_balance)}`] : []),
      ].join("\n"),
  );
}

/** `aeriox image | video | speak | compose`: submit a generation, follow it, save its output. */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import type { GenerateVideoRequest, Job } from "@aeriox/sdk";
import { UsageError } from "../../output.ts";
import { action, clientCommand, collect, finishJob, makeClient, parseInteger, parsePositive, serverChecked } from "./common.ts";

/** `-o/--no-wait/--timeout` after the client options (help lists them in that order), and the Ctrl-C note. */
function waitOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(cmd: Command<A, O, G>) {
  return clientCommand(cmd)
    .option("-o, --out <file>", "write the output to this file (missing folders are created; more outputs get -2, -3 … suffixes)")
    .option("--no-wait", "print the queued job and return at once")
    .option("--timeout <seconds>", "give up waiting (and cancel the job) after this long")
    .addHelpText("after", "\nCtrl-C while waiting cancels the job (its reservation is refunded).");
}

function costOptions(flags: { maxCost?: string | undefined }) {
  return flags.maxCost !== undefined ? { maxCostUsd: parsePositive(flags.maxCost, "--max-cost") } : {};
}

const ASPECTS = ["1:1", "16:9", "9:16", "4:3", "3:4"] as const;
const FORMATS = ["mp4", "webm"] as const;

/** An empty or missing flag is left out; anything else must be one of `values`. */
function oneOf<const T extends string>(values: readonly T[], value: string | undefined, message: string): T | undefined {
  if (!value) return undefined;
  const found = values.find((v) => v === value);
  if (found === undefined) throw new UsageError(message);
  return found;
}

export function registerGenerate(program: Command): void {
  waitOptions(
    program
      .command("image")
      .description("Generate an image (POST /v1/images/generate), wait for it and save it")
      .argument("<prompt>", "what to draw")
      .option("-m, --model <model>", "model id (see `aeriox models`)", "local/image")
      .option("--aspect-ratio <ratio>", `one of ${ASPECTS.join(", ")}`)
      .option("--resolution <WxH>", "e.g. 1024x1024")
      .option("--seed <n>", "seed for reproducible output")
      .option("--negative-prompt <text>", "what to avoid")
      .option("--seed-image-url <url>", "image to start from")
      .option("--character <id>", "custom character id")
      .option("--prism <id>", "prism preset id")
      .option("--max-cost <usd>", "refuse (before reserving anything) when the estimate is above this"),
  ).action(
    action(async (prompt, flags) => {
      const aspectRatio = oneOf(ASPECTS, flags.aspectRatio, `--aspect-ratio must be one of ${ASPECTS.join(", ")}`);
      const client = makeClient(flags);
      const job = await client.images.generate(
        {
          model: flags.model,
          prompt,
          ...(aspectRatio && { aspect_ratio: aspectRatio }),
          ...(flags.resolution && { resolution: flags.resolution }),
          ...(flags.seed !== undefined && { seed: parseInteger(flags.seed, "--seed") }),
          ...(flags.negativePrompt && { negative_prompt: flags.negativePrompt }),
          ...(flags.seedImageUrl && { seed_image_url: flags.seedImageUrl }),
          ...(flags.character && { character_id: flags.character }),
          ...(flags.prism && { prism_id: flags.prism }),
        },
        costOptions(flags),
      );
      await finishJob(client, job, flags);
    }),
  );

  waitOptions(
    program
      .command("video")
      .description("Generate a video (POST /v1/videos/generate), wait for it and save it")
      .argument("<prompt>", "what to film")
      .option("-m, --model <model>", "model id (see `aeriox models`)", "local/video")
      .option("-d, --duration <seconds>", "length in seconds (1-60)")
      .option("--image-url <url>", "image to animate")
      .option("--with-audio", "generate a soundtrack too")
      .option("--motion <id>", "camera motion: static, pan_left, pan_right, zoom_in, zoom_out, orbit")
      .option("--aspect-ratio <ratio>", `frame shape, one of ${ASPECTS.join(", ")} (the model's aspect_ratios in \`aeriox models\`)`)
      .option("--resolution <WxH>", "output size, e.g. 1280x720 (models with accepts_resolution)")
      .option("--character <id>", "custom character id")
      .option("--prism <id>", "prism preset id")
      .option("--max-cost <usd>", "refuse (before reserving anything) when the estimate is above this"),
  ).action(
    action(async (prompt, flags) => {
      const aspectRatio = oneOf(ASPECTS, flags.aspectRatio, `--aspect-ratio must be one of ${ASPECTS.join(", ")}`);
      const client = makeClient(flags);
      const job = await client.videos.generate(
        {
          model: flags.model,
          prompt,
          ...(flags.duration !== undefined && { duration_s: parseInteger(flags.duration, "--duration", 1) }),
          ...(flags.imageUrl !== undefined && { image_url: flags.imageUrl }),
          ...(flags.withAudio === true && { with_audio: true }),
          ...(flags.motion !== undefined && { motion_id: serverChecked<NonNullable<GenerateVideoRequest["motion_id"]>>(flags.motion) }),
          ...(aspectRatio && { aspect_ratio: aspectRatio }),
          ...(flags.resolution && { resolution: flags.resolution }),
          ...(flags.character !== undefined && { character_id: flags.character }),
          ...(flags.prism !== undefined && { prism_id: flags.prism }),
        },
        costOptions(flags),
      );
      await finishJob(client, job, flags);
    }),
  );

  waitOptions(
    program
      .command("speak")
      .description("Text to speech (POST /v1/audio/generate), wait for it and save it")
      .argument("<text>", "what to say")
      .option("--voice <id>", "provider voice id")
      .option("--character-voice <id>", "a custom character's voice")
      .option("-m, --model <model>", "model id (e.g. local/tts, eleven_v3_multilingual)")
      .option("--max-cost <usd>", "refuse (before reserving anything) when the estimate is above this (needs --model)"),
  ).action(
    action(async (text, flags) => {
      if (flags.maxCost !== undefined && !flags.model) throw new UsageError("--max-cost needs --model to estimate the price");
      const client = makeClient(flags);
      const job = await client.audio.generate(
        {
          text,
          ...(flags.voice && { voice_id: flags.voice }),
          ...(flags.characterVoice && { character_voice_id: flags.characterVoice }),
          ...(flags.model && { model: flags.model }),
        },
        costOptions(flags),
      );
      await finishJob(client, job, flags);
    }),
  );

  waitOptions(
    program
      .command("compose")
      .description("Stitch assets into one video (POST /v1/compose), wait for it and save it")
      .requiredOption("-s, --segment <asset:start:duration>", "a segment: ASSET_ID:START_S:DURATION_S (repeat, in order)", collect)
      .option("--resolution <res>", "output resolution (default 1080p)")
      .option("--format <fmt>", "mp4 or webm"),
  ).action(
    action(async (flags) => {
      const segments = flags.segment.map((s) => {
        const m = /^([^:]+):([0-9.]+):([0-9.]+)$/.exec(s);
        if (!m) throw new UsageError(`--segment ${s}: expected ASSET_ID:START:DURATION (seconds), e.g. 1b2c…:0:2.5`);
        return { asset_id: m[1]!, start_time: Number(m[2]), duration: Number(m[3]) };
      });
      const format = oneOf(FORMATS, flags.format, "--format must be mp4 or webm");
      const client = makeClient(flags);
      const ack = await client.compose.create({
        segments,
        ...(flags.resolution && { output_resolution: flags.resolution }),
        ...(format && { output_format: format }),
      });
      // The acknowledgement (202); a finished Job (200) only if a Prefer: wait was sent.
      const job: Job = "job_id" in ack ? ack : { job_id: ack.id, type: "compose", status: ack.status, created_at: ack.created_at, estimated_cost_usd: ack.estimated_cost_usd };
      await finishJob(client, job, flags);
    }),
  );
}

/** `aeriox image | video | speak | compose`: submit a generation, follow it, save its output. */
import type { Command } from "commander";
import type { GenerateVideoRequest, Job } from "@aeriox/sdk";
import { UsageError } from "../../output.ts";
import { action, clientCommand, collect, finishJob, makeClient, parseInteger, parsePositive, type ClientOptions } from "./common.ts";

interface WaitFlags extends ClientOptions {
  wait?: boolean;
  out?: string;
  timeout?: string;
  maxCost?: string;
}

function waitOptions(cmd: Command): Command {
  return cmd
    .option("-o, --out <file>", "write the output to this file (missing folders are created; more outputs get -2, -3 … suffixes)")
    .option("--no-wait", "print the queued job and return at once")
    .option("--timeout <seconds>", "give up waiting (and cancel the job) after this long")
    .addHelpText("after", "\nCtrl-C while waiting cancels the job (its reservation is refunded).");
}

function costOptions(flags: WaitFlags) {
  return flags.maxCost !== undefined ? { maxCostUsd: parsePositive(flags.maxCost, "--max-cost") } : {};
}

const ASPECTS = ["1:1", "16:9", "9:16", "4:3", "3:4"];

export function registerGenerate(program: Command): void {
  waitOptions(
    clientCommand(
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
    ),
  ).action(
    action(async (prompt: string, flags: WaitFlags & Record<string, string | undefined>) => {
      if (flags.aspectRatio && !ASPECTS.includes(flags.aspectRatio)) throw new UsageError(`--aspect-ratio must be one of ${ASPECTS.join(", ")}`);
      const client = makeClient(flags);
      const job = await client.images.generate(
        {
          model: flags.model!,
          prompt,
          ...(flags.aspectRatio && { aspect_ratio: flags.aspectRatio as "1:1" }),
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
    clientCommand(
      program
        .command("video")
        .description("Generate a video (POST /v1/videos/generate), wait for it and save it")
        .argument("<prompt>", "what to film")
        .option("-m, --model <model>", "model id (see `aeriox models`)", "local/video")
        .option("-d, --duration <seconds>", "length in seconds (1-60)")
        .option("--image-url <url>", "image to animate")
        .option("--with-audio", "generate a soundtrack too")
        .option("--motion <id>", "camera motion: static, pan_left, pan_right, zoom_in, zoom_out, orbit")
        .option("--character <id>", "custom character id")
        .option("--prism <id>", "prism preset id")
        .option("--max-cost <usd>", "refuse (before reserving anything) when the estimate is above this"),
    ),
  ).action(
    action(async (prompt: string, flags: WaitFlags & Record<string, string | boolean | undefined>) => {
      const client = makeClient(flags);
      const job = await client.videos.generate(
        {
          model: flags.model as string,
          prompt,
          ...(flags.duration !== undefined && { duration_s: parseInteger(String(flags.duration), "--duration", 1) }),
          ...(typeof flags.imageUrl === "string" && { image_url: flags.imageUrl }),
          ...(flags.withAudio === true && { with_audio: true }),
          // The server validates the id against the spec's motion list and names the field when it is not one.
          ...(typeof flags.motion === "string" && { motion_id: flags.motion as NonNullable<GenerateVideoRequest["motion_id"]> }),
          ...(typeof flags.character === "string" && { character_id: flags.character }),
          ...(typeof flags.prism === "string" && { prism_id: flags.prism }),
        },
        costOptions(flags),
      );
      await finishJob(client, job, flags);
    }),
  );

  waitOptions(
    clientCommand(
      program
        .command("speak")
        .description("Text to speech (POST /v1/audio/generate), wait for it and save it")
        .argument("<text>", "what to say")
        .option("--voice <id>", "provider voice id")
        .option("--character-voice <id>", "a custom character's voice")
        .option("-m, --model <model>", "model id (e.g. local/tts, eleven_v3_multilingual)")
        .option("--max-cost <usd>", "refuse (before reserving anything) when the estimate is above this (needs --model)"),
    ),
  ).action(
    action(async (text: string, flags: WaitFlags & Record<string, string | undefined>) => {
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
    clientCommand(
      program
        .command("compose")
        .description("Stitch assets into one video (POST /v1/compose), wait for it and save it")
        .requiredOption("-s, --segment <asset:start:duration>", "a segment: ASSET_ID:START_S:DURATION_S (repeat, in order)", collect)
        .option("--resolution <res>", "output resolution (default 1080p)")
        .option("--format <fmt>", "mp4 or webm"),
    ),
  ).action(
    action(async (flags: WaitFlags & { segment: string[]; resolution?: string; format?: string }) => {
      const segments = flags.segment.map((s) => {
        const m = /^([^:]+):([0-9.]+):([0-9.]+)$/.exec(s);
        if (!m) throw new UsageError(`--segment ${s}: expected ASSET_ID:START:DURATION (seconds), e.g. 1b2c…:0:2.5`);
        return { asset_id: m[1]!, start_time: Number(m[2]), duration: Number(m[3]) };
      });
      if (flags.format && !["mp4", "webm"].includes(flags.format)) throw new UsageError("--format must be mp4 or webm");
      const client = makeClient(flags);
      const ack = await client.compose.create({
        segments,
        ...(flags.resolution && { output_resolution: flags.resolution }),
        ...(flags.format && { output_format: flags.format as "mp4" }),
      });
      // The acknowledgement (202); a finished Job (200) only if a Prefer: wait was sent.
      const job: Job = "job_id" in ack ? ack : { job_id: ack.id, type: "compose", status: ack.status, created_at: ack.created_at, estimated_cost_usd: ack.estimated_cost_usd };
      await finishJob(client, job, flags);
    }),
  );
}

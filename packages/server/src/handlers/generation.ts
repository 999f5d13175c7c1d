/** Generation tag: image, video, audio, compose and the deprecated /v1/generate. */
import { microsToCredits, microsToUsd } from "@aeriox/core/money";
import { submitAudio, submitCompose, submitImage, submitLegacyGeneration, submitVideo, COMPOSE_OPERATION } from "@aeriox/core/generation";
import { toJobBody } from "@aeriox/core/jobs";
import { takeJobWebhook, withJobWebhook } from "@aeriox/core/webhooks";
import { defineHandlers, principalOf } from "../http/handler.ts";
import { answerAfterWait } from "../http/prefer.ts";

/** Audio is synchronous per spec: without `Prefer: wait`, the 202 carries the finished job when it ends within this time. */
const AUDIO_SYNC_TIMEOUT_MS = 60_000;

export const generationHandlers = defineHandlers({
  generateImage: async (ctx) => {
    const { body, hook } = takeJobWebhook(ctx.services.config, ctx.body);
    const job = await withJobWebhook(hook, () => submitImage(ctx.services, principalOf(ctx), body));
    return answerAfterWait(ctx, job.id, (now) => toJobBody(now ?? job, ctx.services.signer));
  },

  generateVideo: async (ctx) => {
    const { body, hook } = takeJobWebhook(ctx.services.config, ctx.body);
    const job = await withJobWebhook(hook, () => submitVideo(ctx.services, principalOf(ctx), body));
    return answerAfterWait(ctx, job.id, (now) => toJobBody(now ?? job, ctx.services.signer));
  },

  generateAudio: async (ctx) => {
    const { body, hook } = takeJobWebhook(ctx.services.config, ctx.body);
    const submitted = await withJobWebhook(hook, () => submitAudio(ctx.services, principalOf(ctx), body));
    return answerAfterWait(ctx, submitted.id, (now) => toJobBody(now ?? submitted, ctx.services.signer), { waitWithoutPreferenceMs: AUDIO_SYNC_TIMEOUT_MS });
  },

  composeVideo: async (ctx) => {
    const { body, hook } = takeJobWebhook(ctx.services.config, ctx.body);
    const job = await withJobWebhook(hook, () => submitCompose(ctx.services, principalOf(ctx), body));
    // The acknowledgement (202); with `Prefer: wait` and a job that ended in time, the finished Job (200).
    return answerAfterWait(ctx, job.id, () => ({
      id: job.id,
      type: "compose" as const,
      status: "queued" as const,
      operation_id: COMPOSE_OPERATION as "compose.stitch_per_minute",
      estimated_cost_usd_micros: Number(job.estimatedCostMicros),
      estimated_cost_usd: microsToUsd(job.estimatedCostMicros),
      created_at: job.createdAt.toISOString(),
    }));
  },

  createGeneration: async (ctx) => {
    const { job, kind } = await submitLegacyGeneration(ctx.services, principalOf(ctx), ctx.body);
    return {
      status: 202,
      body: {
        generation_id: job.id,
        provider_request_id: null,
        status: "queued",
        model: ctx.body.model,
        kind,
        credits_charged: microsToCredits(job.estimatedCostMicros),
        cost: { usd_micros: Number(job.estimatedCostMicros), usd: microsToUsd(job.estimatedCostMicros) },
        poll_url: `${ctx.services.config.publicUrl}/v1/generations/${job.id}`,
      },
    };
  },
});

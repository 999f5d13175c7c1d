/** Prisms tag: the static recipe catalog and applying a prism. */
import { listPrisms, toPrismBody, previewOf, submitPrismApply } from "@aeriox/core/prisms";
import { toJobBody } from "@aeriox/core/jobs";
import { takeJobWebhook, withJobWebhook, type JobWebhookRequest } from "@aeriox/core/webhooks";
import { defineHandlers, principalOf } from "../http/handler.ts";
import { answerAfterWait } from "../http/prefer.ts";
import { PRISM_PREVIEWS_ROUTE } from "../prism-previews.ts";

export const prismHandlers = defineHandlers({
  listPrisms: async (ctx) => {
    const base = ctx.services.config.publicUrl;
    return {
      status: 200,
      body: {
        data: listPrisms(ctx.query).map((prism) => {
          // The committed preview rendered by the local models (prisms/previews.ts), served outside the contract; absent when missing or stale.
          const preview = previewOf(prism);
          return { ...toPrismBody(prism), ...(preview ? { preview_url: `${base}${PRISM_PREVIEWS_ROUTE}/${preview.file}` } : {}) };
        }),
      },
    };
  },

  applyPrism: async (ctx) => {
    // The webhook belongs to the application: at the top level, or (as GenerateImageRequest/GenerateVideoRequest
    // document it) inside image_params / video_params; never passed on to the model.
    const { config } = ctx.services;
    const top = takeJobWebhook(config, ctx.body);
    const body = { ...top.body };
    let hook: JobWebhookRequest | null = top.hook;
    for (const key of ["image_params", "video_params"] as const) {
      const params = body[key];
      if (!params) continue;
      const inner = takeJobWebhook(config, params, `body.${key}`);
      (body as Record<string, unknown>)[key] = inner.body;
      hook ??= inner.hook;
    }
    const job = await withJobWebhook(hook, () => submitPrismApply(ctx.services, principalOf(ctx), ctx.params.id, body));
    return answerAfterWait(ctx, job.id, (now) => toJobBody(now ?? job, ctx.services.signer));
  },
});

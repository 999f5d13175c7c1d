/** Discovery tag: the spec itself, models, pricing, estimates. */
import { pricingResponse } from "@aeriox/core/pricing/catalog";
import { modelsResponse } from "@aeriox/core/pricing/models";
import { estimateGeneration } from "@aeriox/core/wallet/estimate";
import { defineHandlers, principalOf, rawResponse } from "../http/handler.ts";
import { loadSpec } from "../spec.ts";

export const discoveryHandlers = defineHandlers({
  getOpenApiSpec: async () =>
    rawResponse((res) => {
      res.setHeader("Cache-Control", "public, max-age=3600");
      res.status(200).type("application/json").send(loadSpec().json);
    }),

  getPricing: async ({ services }) => ({ status: 200, body: pricingResponse(services.catalog, services.providers) }),

  listModels: async ({ services }) => ({ status: 200, body: modelsResponse(services.catalog, services.providers) }),

  estimateGeneration: async (ctx) => ({ status: 200, body: await estimateGeneration(ctx.services, principalOf(ctx), ctx.body) }),
});

/** Discovery tag: the spec itself, models, pricing, estimates. */
import { PROVIDERS, pricingResponse, type Catalog, modelsResponse } from "@aeriox/core/pricing";
import { estimateGeneration } from "@aeriox/core/wallet";
import { defineHandlers, principalOf, rawResponse } from "../http/handler.ts";
import { loadSpec } from "../spec.ts";

/**
 * `/v1/pricing` serialised once per catalog and provider availability (the only inputs
 * besides the time): stringifying the whole catalog on every request was the endpoint's
 * main cost. `generated_at`, the body's last property, is appended per request.
 */
const pricingBodies = new WeakMap<Catalog, { availability: string; json: string }>();

function pricingJson(catalog: Catalog, providers: Parameters<typeof pricingResponse>[1]): string {
  const availability = PROVIDERS.map((p) => providers.unavailableReason(p) ?? "").join("\u0000");
  let cached = pricingBodies.get(catalog);
  if (!cached || cached.availability !== availability) {
    const { generated_at: _generatedAt, ...rest } = pricingResponse(catalog, providers);
    cached = { availability, json: JSON.stringify(rest) };
    pricingBodies.set(catalog, cached);
  }
  return `${cached.json.slice(0, -1)},"generated_at":"${new Date().toISOString()}"}`;
}

export const discoveryHandlers = defineHandlers({
  getOpenApiSpec: async () =>
    rawResponse((res) => {
      res.setHeader("Cache-Control", "public, max-age=3600");
      res.status(200).type("application/json").send(loadSpec().json);
    }),

  getPricing: async ({ services }) => {
    // Response validation (tests, development) checks what res.json sends: give it the object.
    if (services.config.responseValidation) return { status: 200, body: pricingResponse(services.catalog, services.providers) };
    const json = pricingJson(services.catalog, services.providers);
    return rawResponse((res) => {
      res.status(200).type("application/json").send(json);
    });
  },

  listModels: async ({ services }) => ({ status: 200, body: modelsResponse(services.catalog, services.providers) }),

  estimateGeneration: async (ctx) => ({ status: 200, body: await estimateGeneration(ctx.services, principalOf(ctx), ctx.body) }),
});

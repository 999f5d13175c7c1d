/** `GET /v1/models`: the catalog as capabilities + per-unit USD prices, and whether this deployment can run each. */
import { microsToUsd } from "../money.ts";
import type { Providers } from "../providers/registry.ts";
import { availabilityOf } from "./availability.ts";
import type { Catalog } from "./catalog.ts";

export function modelsResponse(catalog: Catalog, providers: Pick<Providers, "unavailableReason">) {
  return {
    data: catalog.list().map((entry) => ({
      ...availabilityOf(providers, entry.provider),
      model_id: entry.model,
      operation_id: entry.operationId,
      type: entry.kind,
      provider: entry.provider,
      max_resolution: entry.maxResolution,
      max_duration_s: entry.maxDurationS,
      supports_audio: entry.supportsAudio,
      cost_usd_per_unit: microsToUsd(entry.priceMicros),
      unit: entry.unit,
      // What the model honours of the optional inputs; anything else is refused (400 unsupported_parameter).
      ...(entry.kind === "image" ? { accepts_seed_image: entry.acceptsSeedImage ?? false, accepts_loras: entry.acceptsLoras ?? false, fixed_output: entry.fixedOutput ?? false } : {}),
      ...(entry.kind === "video"
        ? {
            accepts_image_url: entry.acceptsImageUrl ?? false,
            requires_image_url: entry.requiresImageUrl ?? false,
            motion_ids: entry.motionIds ?? [],
            aspect_ratios: entry.aspectRatios ?? [],
            accepts_resolution: entry.acceptsResolution ?? false,
            // Only for a model that makes some durations only (Kling 2.1: 5 or 10 s); absent: any up to max_duration_s.
            ...(entry.durationsS?.length ? { durations_s: entry.durationsS } : {}),
          }
        : {}),
      ...(entry.kind === "image" || entry.kind === "video" ? { accepts_negative_prompt: entry.acceptsNegativePrompt ?? false } : {}),
      ...(entry.aliases?.length ? { aliases: entry.aliases } : {}),
    })),
  };
}


/** `GET /v1/models`: the catalog as capabilities + per-unit USD prices. */
import { microsToUsd } from "../money.ts";
import type { Catalog } from "./catalog.ts";

export function modelsResponse(catalog: Catalog) {
  return {
    data: catalog.list().map((entry) => ({
      model_id: entry.model,
      operation_id: entry.operationId,
      type: entry.kind,
      provider: entry.provider,
      max_resolution: entry.maxResolution,
      max_duration_s: entry.maxDurationS,
      supports_audio: entry.supportsAudio,
      cost_usd_per_unit: microsToUsd(entry.priceMicros),
      unit: entry.unit,
    })),
  };
}

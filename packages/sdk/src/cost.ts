// `maxCostUsd`: ask `POST /v1/estimate` first and refuse before the server reserves any money.
import type { Aeriox } from "./client.ts";
import { CostLimitError } from "./errors.ts";
import type { EstimateGenerationData } from "./generated/types.gen.ts";
import type { RequestOptions } from "./transport.ts";

export interface CostOptions extends RequestOptions {
  /** Refuse (CostLimitError) when the estimate exceeds this many USD or says the call would fail. */
  maxCostUsd?: number;
}

export async function enforceMaxCost(client: Aeriox, estimateBody: EstimateGenerationData["body"], opts: CostOptions): Promise<void> {
  if (opts.maxCostUsd === undefined) return;
  const { signal, headers, timeout } = opts;
  const est = await client.estimate(estimateBody, { signal, headers, timeout });
  if (!est.would_succeed) {
    throw new CostLimitError(`Estimate says this call would not succeed: ${est.reasons_blocked.join(", ") || "unknown reason"}`, est, opts.maxCostUsd);
  }
  if (est.usd > opts.maxCostUsd) {
    throw new CostLimitError(`Estimated cost $${est.usd} exceeds maxCostUsd $${opts.maxCostUsd}`, est, opts.maxCostUsd);
  }
}

/** Only the transport options go on to the real call. */
export function requestOptionsOf({ maxCostUsd: _, ...rest }: CostOptions = {}): RequestOptions {
  return rest;
}

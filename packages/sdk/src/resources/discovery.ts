import * as api from "../generated/sdk.gen.ts";
import type { GetPricingResponse, ListModelsResponse } from "../generated/types.gen.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

export class Models extends APIResource {
  /** `GET /v1/models`: capabilities and per-unit prices. */
  list(opts?: RequestOptions): Promise<ListModelsResponse> {
    return this.client.request(api.listModels, {}, opts);
  }
}

export class Pricing extends APIResource {
  /** `GET /v1/pricing` (public). */
  get(opts?: RequestOptions): Promise<GetPricingResponse> {
    return this.client.request(api.getPricing, {}, opts);
  }
}

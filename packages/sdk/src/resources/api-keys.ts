import * as api from "../generated/sdk.gen.ts";
import type { RotateApiKeyResponse } from "../generated/types.gen.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

export class ApiKeys extends APIResource {
  /** `POST /v1/api-keys/{id}/rotate`: the new plaintext key is returned exactly once. */
  rotate(id: string, opts?: RequestOptions): Promise<RotateApiKeyResponse> {
    return this.client.request(api.rotateApiKey, { path: { id } }, opts);
  }
}

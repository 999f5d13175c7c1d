import * as api from "../generated/sdk.gen.ts";
import type { GetAssetResponse } from "../generated/types.gen.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

export class Assets extends APIResource {
  /** `GET /v1/assets/{id}`: metadata plus a freshly signed download `url`. */
  get(id: string, opts?: RequestOptions): Promise<GetAssetResponse> {
    return this.client.request(api.getAsset, { path: { id } }, opts);
  }

  /**
   * The asset's bytes as a fetch Response (`.blob()`, `.arrayBuffer()`, `.body` stream): signs a fresh
   * URL with `assets.get`, then `GET /v1/assets/{id}/content` (authorized by the signature, no key sent).
   */
  async download(id: string, opts: RequestOptions = {}): Promise<Response> {
    const asset = await this.get(id, opts);
    return this.client.transport.send(new Request(new URL(asset.url, this.client.baseUrl)), opts);
  }
}

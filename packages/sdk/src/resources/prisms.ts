import * as api from "../generated/sdk.gen.ts";
import type { ApplyPrismData, ApplyPrismResponse, ListPrismsData, ListPrismsResponse } from "../generated/types.gen.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

export class Prisms extends APIResource {
  /** `GET /v1/prisms`: the preset catalog. */
  list(query?: ListPrismsData["query"], opts?: RequestOptions): Promise<ListPrismsResponse> {
    return this.client.request(api.listPrisms, { query }, opts);
  }

  /** `POST /v1/prisms/{id}/apply`: queues a job (follow it with `jobs.wait`). */
  apply(id: string, body: ApplyPrismData["body"], opts?: RequestOptions): Promise<ApplyPrismResponse> {
    return this.client.request(api.applyPrism, { path: { id }, body }, opts);
  }
}

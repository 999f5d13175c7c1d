import * as api from "../generated/sdk.gen.ts";
import type {
  CreateApiKeyData, CreateApiKeyResponse, ListApiKeysResponse, RevokeApiKeyResponse, RotateApiKeyResponse,
  UpdateApiKeyData, UpdateApiKeyResponse,
} from "../generated/types.gen.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

/** Key management (admin scope). Plaintext keys are returned exactly once: store them at once. */
export class ApiKeys extends APIResource {
  /** `POST /v1/api-keys` */
  create(body: CreateApiKeyData["body"] = {}, opts?: RequestOptions): Promise<CreateApiKeyResponse> {
    return this.client.request(api.createApiKey, { body }, opts);
  }

  /** `GET /v1/api-keys`: metadata only, including revoked and rotated keys. */
  list(opts?: RequestOptions): Promise<ListApiKeysResponse> {
    return this.client.request(api.listApiKeys, {}, opts);
  }

  /**
   * `PATCH /v1/api-keys/{id}`: changes the given fields (omitted: unchanged; `null` clears a limit) —
   * `name`, `scopes`, `daily_spend_cap_usd`, `monthly_budget_usd`, `allowed_models`. Never beyond
   * the calling key's own limits (403 PermissionDeniedError); 409 `key_revoked` for a revoked key.
   */
  update(id: string, body: UpdateApiKeyData["body"], opts?: RequestOptions): Promise<UpdateApiKeyResponse> {
    return this.client.request(api.updateApiKey, { path: { id }, body }, opts);
  }

  /** `DELETE /v1/api-keys/{id}`: immediate; 409 `already_revoked` (ConflictError) the second time. */
  revoke(id: string, opts?: RequestOptions): Promise<RevokeApiKeyResponse> {
    return this.client.request(api.revokeApiKey, { path: { id } }, opts);
  }

  /** `POST /v1/api-keys/{id}/rotate`: the old key keeps working until `old_expires_at`. */
  rotate(id: string, opts?: RequestOptions): Promise<RotateApiKeyResponse> {
    return this.client.request(api.rotateApiKey, { path: { id } }, opts);
  }
}

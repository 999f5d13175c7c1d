import { Webhook, WebhookVerificationError as UpstreamVerificationError } from "standardwebhooks";
import * as api from "../generated/sdk.gen.ts";
import type {
  CreateWebhookEndpointData, CreateWebhookEndpointResponse, DeleteWebhookEndpointResponse, GetWebhookSigningSecretResponse,
  ListWebhookDeliveriesData, ListWebhookDeliveriesResponse, ListWebhookEndpointDeliveriesData, ListWebhookEndpointDeliveriesResponse,
  ListWebhookEndpointsResponse, RotateWebhookEndpointSecretResponse, RotateWebhookSigningSecretResponse, WebhookEvent,
} from "../generated/types.gen.ts";
import { AerioxError } from "../errors.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

/** A delivery that does not verify: `code` is `invalid_signature` (missing headers, no matching signature) or `invalid_timestamp` (more than 5 minutes off). */
export class WebhookVerificationError extends AerioxError {
  override name = "WebhookVerificationError";
}

/** Header access for `verify`: a fetch `Headers`, or a plain object such as Node's `req.headers`. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function headerRecord(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof (headers as Headers).forEach === "function" && typeof (headers as Headers).get === "function") {
    (headers as Headers).forEach((value, key) => (out[key.toLowerCase()] = value));
    return out;
  }
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/**
 * Outbound job webhooks (admin scope): endpoints, the workspace signing secret, deliveries, and `verify`
 * for receivers (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`).
 */
export class Webhooks extends APIResource {
  /**
   * Checks a delivery and returns its event. `payload` is the raw body exactly as received (verify before
   * parsing: re-serialised JSON does not match the signature); `secret` is the endpoint's `whsec_…` (or the
   * workspace signing secret for per-request `webhook_url`s). Throws `WebhookVerificationError` when the
   * signature does not match any of the header's signatures or the timestamp is more than 5 minutes off.
   */
  verify(payload: string, headers: WebhookHeaders, secret: string): WebhookEvent {
    try {
      return new Webhook(secret).verify(payload, headerRecord(headers)) as WebhookEvent;
    } catch (err) {
      if (err instanceof UpstreamVerificationError) {
        const timestamp = /timestamp/i.test(err.message);
        throw new WebhookVerificationError(`Webhook verification failed: ${err.message}`, { code: timestamp ? "invalid_timestamp" : "invalid_signature", cause: err });
      }
      throw new WebhookVerificationError("Webhook verification failed: the secret or payload is malformed", { code: "invalid_signature", cause: err });
    }
  }

  /** `POST /v1/webhook-endpoints`: the response carries the endpoint's `secret`, shown once. */
  createEndpoint(body: CreateWebhookEndpointData["body"], opts?: RequestOptions): Promise<CreateWebhookEndpointResponse> {
    return this.client.request(api.createWebhookEndpoint, { body }, opts);
  }

  /** `GET /v1/webhook-endpoints` */
  listEndpoints(opts?: RequestOptions): Promise<ListWebhookEndpointsResponse> {
    return this.client.request(api.listWebhookEndpoints, {}, opts);
  }

  /** `DELETE /v1/webhook-endpoints/{id}` */
  deleteEndpoint(id: string, opts?: RequestOptions): Promise<DeleteWebhookEndpointResponse> {
    return this.client.request(api.deleteWebhookEndpoint, { path: { id } }, opts);
  }

  /** `POST /v1/webhook-endpoints/{id}/rotate-secret`: the old secret keeps signing beside the new one for 24 h. */
  rotateEndpointSecret(id: string, opts?: RequestOptions): Promise<RotateWebhookEndpointSecretResponse> {
    return this.client.request(api.rotateWebhookEndpointSecret, { path: { id } }, opts);
  }

  /** `GET /v1/webhook-endpoints/{id}/deliveries` */
  listEndpointDeliveries(id: string, query: ListWebhookEndpointDeliveriesData["query"] = {}, opts?: RequestOptions): Promise<ListWebhookEndpointDeliveriesResponse> {
    return this.client.request(api.listWebhookEndpointDeliveries, { path: { id }, query }, opts);
  }

  /** `GET /v1/webhook-deliveries` (optionally one job's) */
  listDeliveries(query: ListWebhookDeliveriesData["query"] = {}, opts?: RequestOptions): Promise<ListWebhookDeliveriesResponse> {
    return this.client.request(api.listWebhookDeliveries, { query }, opts);
  }

  /** `GET /v1/webhook-signing-secret`: signs deliveries to per-request `webhook_url`s (created on first use). */
  signingSecret(opts?: RequestOptions): Promise<GetWebhookSigningSecretResponse> {
    return this.client.request(api.getWebhookSigningSecret, {}, opts);
  }

  /** `POST /v1/webhook-signing-secret/rotate` */
  rotateSigningSecret(opts?: RequestOptions): Promise<RotateWebhookSigningSecretResponse> {
    return this.client.request(api.rotateWebhookSigningSecret, {}, opts);
  }
}

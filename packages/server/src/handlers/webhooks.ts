/** Webhooks tag: endpoints, the workspace signing secret and deliveries (admin scope, enforced from the spec). */
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  rotateSigningSecret,
  rotateWebhookEndpointSecret,
  signingSecretBody,
  signingSecretOf,
  webhookDeliveryBody,
  webhookEndpointBody,
} from "@aeriox/core/webhooks";
import { defineHandlers, principalOf } from "../http/handler.ts";

export const webhookHandlers = defineHandlers({
  createWebhookEndpoint: async (ctx) => {
    const endpoint = await createWebhookEndpoint(ctx.services, principalOf(ctx).workspaceId, { url: ctx.body.url, events: ctx.body.events, description: ctx.body.description });
    return { status: 201, body: { ...webhookEndpointBody(endpoint), secret: endpoint.secret } };
  },

  listWebhookEndpoints: async (ctx) => {
    const endpoints = await listWebhookEndpoints(ctx.services, principalOf(ctx).workspaceId);
    return { status: 200, body: { data: endpoints.map(webhookEndpointBody) } };
  },

  deleteWebhookEndpoint: async (ctx) => {
    const endpoint = await deleteWebhookEndpoint(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: webhookEndpointBody(endpoint) };
  },

  rotateWebhookEndpointSecret: async (ctx) => {
    const endpoint = await rotateWebhookEndpointSecret(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: { ...webhookEndpointBody(endpoint), secret: endpoint.secret } };
  },

  listWebhookEndpointDeliveries: async (ctx) => {
    const deliveries = await listWebhookDeliveries(ctx.services, principalOf(ctx).workspaceId, { endpointId: ctx.params.id, limit: ctx.query.limit });
    return { status: 200, body: { data: deliveries.map(webhookDeliveryBody) } };
  },

  listWebhookDeliveries: async (ctx) => {
    const deliveries = await listWebhookDeliveries(ctx.services, principalOf(ctx).workspaceId, { jobId: ctx.query.job_id, limit: ctx.query.limit });
    return { status: 200, body: { data: deliveries.map(webhookDeliveryBody) } };
  },

  getWebhookSigningSecret: async (ctx) => ({ status: 200, body: signingSecretBody(await signingSecretOf(ctx.services.db, principalOf(ctx).workspaceId)) }),

  rotateWebhookSigningSecret: async (ctx) => ({ status: 200, body: signingSecretBody(await rotateSigningSecret(ctx.services.db, principalOf(ctx).workspaceId)) }),
});

// client.webhooks: `verify` checks Standard Webhooks signatures (computed here with node:crypto, independently
// of the library the SDK uses) and the management methods hit the spec's routes.
import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AerioxError, WebhookVerificationError } from "../src/index.ts";
import { http, HttpResponse, makeClient, server, url, useMsw } from "./helpers.ts";

useMsw();

const secret = `whsec_${randomBytes(24).toString("base64")}`;
const otherSecret = `whsec_${randomBytes(24).toString("base64")}`;
const job = { job_id: "11111111-2222-4333-8444-555555555555", type: "image", status: "completed", created_at: "2026-12-01T00:00:00.000Z" };
const body = JSON.stringify({ type: "job.completed", timestamp: "2026-12-01T00:00:01.000Z", data: job });

function sign(s: string, id: string, ts: number, payload: string): string {
  return `v1,${createHmac("sha256", Buffer.from(s.slice("whsec_".length), "base64")).update(`${id}.${ts}.${payload}`).digest("base64")}`;
}

function headersFor(opts: { secrets?: string[]; ts?: number; id?: string; payload?: string } = {}) {
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  const id = opts.id ?? "msg_0123456789abcdef";
  return { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": (opts.secrets ?? [secret]).map((s) => sign(s, id, ts, opts.payload ?? body)).join(" ") };
}

function failure(run: () => unknown): WebhookVerificationError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    expect(err).toBeInstanceOf(AerioxError);
    return err as WebhookVerificationError;
  }
  throw new Error("verify did not throw");
}

describe("webhooks.verify", () => {
  const client = makeClient();

  it("returns the event of a correctly signed delivery (plain object or fetch Headers)", () => {
    expect(client.webhooks.verify(body, headersFor(), secret)).toEqual(JSON.parse(body));
    const headers = new Headers(headersFor());
    expect(client.webhooks.verify(body, headers, secret).data.job_id).toBe(job.job_id);
  });

  it("accepts a header carrying two signatures (a rotation) when either matches", () => {
    expect(client.webhooks.verify(body, headersFor({ secrets: [otherSecret, secret] }), secret).type).toBe("job.completed");
    expect(client.webhooks.verify(body, headersFor({ secrets: [otherSecret, secret] }), otherSecret).type).toBe("job.completed");
  });

  it("throws invalid_signature for a wrong secret, a changed body or missing headers", () => {
    expect(failure(() => client.webhooks.verify(body, headersFor(), otherSecret)).code).toBe("invalid_signature");
    expect(failure(() => client.webhooks.verify(body.replace("completed", "failed"), headersFor(), secret)).code).toBe("invalid_signature");
    const { "webhook-signature": _omit, ...missing } = headersFor();
    expect(failure(() => client.webhooks.verify(body, missing, secret)).code).toBe("invalid_signature");
    expect(failure(() => client.webhooks.verify(body, { ...headersFor(), "webhook-id": "msg_other" }, secret)).code).toBe("invalid_signature");
  });

  it("throws invalid_timestamp more than 5 minutes off, even when signed correctly", () => {
    const old = Math.floor(Date.now() / 1000) - 10 * 60;
    expect(failure(() => client.webhooks.verify(body, headersFor({ ts: old }), secret)).code).toBe("invalid_timestamp");
    const future = Math.floor(Date.now() / 1000) + 10 * 60;
    expect(failure(() => client.webhooks.verify(body, headersFor({ ts: future }), secret)).code).toBe("invalid_timestamp");
  });
});

describe("webhooks management", () => {
  it("hits the spec's routes", async () => {
    const id = "22222222-3333-4444-8555-666666666666";
    const endpoint = { id, url: "https://example.com/hook", description: null, events: ["job.completed"], created_at: "2026-12-01T00:00:00.000Z", previous_secret_expires_at: null };
    const calls: string[] = [];
    server.use(
      http.post(url("/v1/webhook-endpoints"), async ({ request }) => {
        calls.push(`create ${JSON.stringify(await request.json())}`);
        return HttpResponse.json({ ...endpoint, secret }, { status: 201 });
      }),
      http.get(url("/v1/webhook-endpoints"), () => (calls.push("list"), HttpResponse.json({ data: [endpoint] }))),
      http.delete(url(`/v1/webhook-endpoints/${id}`), () => (calls.push("delete"), HttpResponse.json(endpoint))),
      http.post(url(`/v1/webhook-endpoints/${id}/rotate-secret`), () => (calls.push("rotate"), HttpResponse.json({ ...endpoint, secret: otherSecret }))),
      http.get(url(`/v1/webhook-endpoints/${id}/deliveries`), ({ request }) => (calls.push(`deliveries ${new URL(request.url).search}`), HttpResponse.json({ data: [] }))),
      http.get(url("/v1/webhook-deliveries"), ({ request }) => (calls.push(`all ${new URL(request.url).search}`), HttpResponse.json({ data: [] }))),
      http.get(url("/v1/webhook-signing-secret"), () => (calls.push("secret"), HttpResponse.json({ secret, created_at: endpoint.created_at, previous_secret_expires_at: null }))),
      http.post(url("/v1/webhook-signing-secret/rotate"), () => (calls.push("rotate-secret"), HttpResponse.json({ secret: otherSecret, created_at: endpoint.created_at, previous_secret_expires_at: endpoint.created_at }))),
    );
    const client = makeClient();
    expect((await client.webhooks.createEndpoint({ url: endpoint.url })).secret).toBe(secret);
    expect((await client.webhooks.listEndpoints()).data[0]!.id).toBe(id);
    expect((await client.webhooks.rotateEndpointSecret(id)).secret).toBe(otherSecret);
    await client.webhooks.listEndpointDeliveries(id, { limit: 5 });
    await client.webhooks.listDeliveries({ job_id: job.job_id });
    expect((await client.webhooks.signingSecret()).secret).toBe(secret);
    expect((await client.webhooks.rotateSigningSecret()).secret).toBe(otherSecret);
    await client.webhooks.deleteEndpoint(id);
    expect(calls).toEqual([`create {"url":"${endpoint.url}"}`, "list", "rotate", "deliveries ?limit=5", `all ?job_id=${job.job_id}`, "secret", "rotate-secret", "delete"]);
  });
});

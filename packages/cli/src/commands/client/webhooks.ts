/**
 * `aeriox webhooks …`: outbound job webhooks over the API (admin scope) — endpoints, deliveries, the
 * workspace signing secret — and `webhooks listen`, which receives deliveries on this machine and
 * forwards them, like `stripe listen`.
 *
 * `listen` starts a small HTTP receiver here (`--host`/`--port`), registers a temporary endpoint pointing
 * at it (or at `--public-url`, e.g. a tunnel to it), verifies every delivery with the endpoint's secret
 * (client.webhooks.verify), forwards it unchanged (body and webhook-* headers, so the app verifies with
 * the same secret, printed at start) to `--forward-to`, answers the server with the app's status (502
 * when the app cannot be reached, so the server retries) and prints one line per event. On Ctrl-C (or
 * after `--max-events`) it deletes the endpoint. The server must be able to reach the receiver: a local
 * server (`aeriox serve`) needs FETCH_ALLOW_PRIVATE_NETWORKS=true for a loopback http receiver; a remote
 * one needs `--public-url`.
 */
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Command } from "@commander-js/extra-typings";
import { WebhookVerificationError, type WebhookEventType } from "@aeriox/sdk";
import { UsageError, wantsJson } from "../../output.ts";
import { action, clientCall, clientCommand, makeClient, parseInteger, printJsonLine, table } from "./common.ts";

const EVENT_TYPES: WebhookEventType[] = ["job.started", "job.progress", "job.completed"];
const isEventType = (e: string): e is WebhookEventType => EVENT_TYPES.some((t) => t === e);

function parseEvents(value: string | undefined, fallback: WebhookEventType[]): WebhookEventType[] {
  if (!value) return fallback;
  const events = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (events.length === 0 || !events.every(isEventType)) throw new UsageError(`--events: use a comma-separated list of ${EVENT_TYPES.join(", ")}`);
  return [...new Set(events)];
}

const deliveryColumns = ["id", "type", "job_id", "status", "attempts", "last_response_status", "next_attempt_at", "created_at"];

export function registerWebhooks(program: Command): void {
  const webhooks = program.command("webhooks").description("Outbound job webhooks: endpoints, deliveries, signing secret, and `listen` (admin scope)");
  const endpoints = webhooks.command("endpoints").description("The workspace's webhook endpoints");

  clientCall(
    endpoints
      .command("create")
      .description("Register an endpoint; its signing secret is shown once (POST /v1/webhook-endpoints)")
      .argument("<url>", "https URL that receives the events")
      .option("--events <list>", `comma-separated: ${EVENT_TYPES.join(",")} (default job.completed)`)
      .option("--description <text>", "label"),
    (client, url, flags) => client.webhooks.createEndpoint({ url, events: parseEvents(flags.events, ["job.completed"]), ...(flags.description && { description: flags.description }) }),
    (res) => `${res.secret}\n(shown once; endpoint ${res.id} → ${res.url}, events ${res.events.join(",")})`,
  );
  clientCall(
    endpoints.command("list").description("Endpoints of the workspace (GET /v1/webhook-endpoints)"),
    (client) => client.webhooks.listEndpoints(),
    (res) => table(res.data.map((e) => ({ ...e, events: e.events.join(",") })), ["id", "url", "events", "description", "created_at"]),
  );
  clientCall(
    endpoints.command("delete").description("Delete an endpoint (DELETE /v1/webhook-endpoints/{id})").argument("<id>", "endpoint id"),
    (client, id) => client.webhooks.deleteEndpoint(id),
    (res) => `deleted ${res.id} (${res.url})`,
  );
  clientCall(
    endpoints.command("rotate-secret").description("New signing secret; the old one signs beside it for 24 h (POST /v1/webhook-endpoints/{id}/rotate-secret)").argument("<id>", "endpoint id"),
    (client, id) => client.webhooks.rotateEndpointSecret(id),
    (res) => `${res.secret}\n(shown once; the previous secret keeps signing until ${res.previous_secret_expires_at})`,
  );
  clientCall(
    endpoints
      .command("deliveries")
      .description("Recent deliveries of an endpoint (GET /v1/webhook-endpoints/{id}/deliveries)")
      .argument("<id>", "endpoint id")
      .option("--limit <n>", "at most this many (1-100, default 20)"),
    (client, id, flags) => client.webhooks.listEndpointDeliveries(id, flags.limit ? { limit: parseInteger(flags.limit, "--limit", 1) } : {}),
    (res) => table(res.data, deliveryColumns),
  );
  clientCall(
    webhooks
      .command("deliveries")
      .description("Recent deliveries of the workspace, to endpoints and per-request webhook_urls (GET /v1/webhook-deliveries)")
      .option("--job <id>", "only this job's")
      .option("--limit <n>", "at most this many (1-100, default 20)"),
    (client, flags) => client.webhooks.listDeliveries({ ...(flags.job && { job_id: flags.job }), ...(flags.limit && { limit: parseInteger(flags.limit, "--limit", 1) }) }),
    (res) => table(res.data, [...deliveryColumns.slice(0, 1), "endpoint_id", ...deliveryColumns.slice(1)]),
  );
  clientCall(
    webhooks.command("signing-secret").description("The secret that signs per-request webhook_url deliveries (GET /v1/webhook-signing-secret)"),
    (client) => client.webhooks.signingSecret(),
    (res) => res.secret,
  );
  clientCall(
    webhooks.command("rotate-signing-secret").description("New workspace signing secret; the old one signs beside it for 24 h (POST /v1/webhook-signing-secret/rotate)"),
    (client) => client.webhooks.rotateSigningSecret(),
    (res) => `${res.secret}\n(the previous secret keeps signing until ${res.previous_secret_expires_at})`,
  );

  clientCommand(
    webhooks
      .command("listen")
      .description("Receive the workspace's job events here and forward them to a local app (a temporary endpoint, deleted on exit)")
      .requiredOption("--forward-to <url>", "where to POST each event (e.g. http://localhost:3000/webhooks)")
      .option("--events <list>", `comma-separated: ${EVENT_TYPES.join(",")} (default all)`)
      .option("--host <host>", "address the receiver listens on", "127.0.0.1")
      .option("--port <port>", "port the receiver listens on (default: any free port)")
      .option("--public-url <url>", "URL the server should POST to instead of http://<host>:<port>/ (a tunnel to this receiver)")
      .option("--max-events <n>", "exit after this many events"),
  ).action(
    action(async (flags) => {
      let forwardTo: URL;
      try {
        forwardTo = new URL(flags.forwardTo);
      } catch {
        throw new UsageError("--forward-to must be an absolute http(s) URL");
      }
      const maxEvents = flags.maxEvents ? parseInteger(flags.maxEvents, "--max-events", 1) : Infinity;
      const client = makeClient(flags);
      const events = parseEvents(flags.events, EVENT_TYPES);
      let secret = "";
      let seen = 0;
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (finish = resolve));

      const receiver = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => void handle(Buffer.concat(chunks).toString("utf8"), req.headers, res));
      });
      const handle = async (body: string, headers: http.IncomingHttpHeaders, res: http.ServerResponse) => {
        let event;
        try {
          event = client.webhooks.verify(body, headers as Record<string, string>, secret);
        } catch (err) {
          const code = err instanceof WebhookVerificationError ? err.code : "invalid_signature";
          report({ at: new Date().toISOString(), error: code, webhook_id: headers["webhook-id"] ?? null }, () => `${new Date().toISOString()}  refused a delivery that does not verify (${code})`);
          res.writeHead(400).end();
          return;
        }
        let status: number | null = null;
        let failure: string | null = null;
        try {
          const forwarded = await fetch(forwardTo, {
            method: "POST",
            body,
            headers: {
              "content-type": "application/json",
              "webhook-id": String(headers["webhook-id"]),
              "webhook-timestamp": String(headers["webhook-timestamp"]),
              "webhook-signature": String(headers["webhook-signature"]),
            },
            signal: AbortSignal.timeout(10_000),
          });
          status = forwarded.status;
          await forwarded.body?.cancel();
        } catch (err) {
          failure = (err as Error).message;
        }
        res.writeHead(status === null ? 502 : status >= 200 && status < 300 ? 200 : status >= 400 && status < 600 ? status : 502).end();
        const data = event.data;
        report(
          { at: new Date().toISOString(), type: event.type, webhook_id: headers["webhook-id"], job_id: data.job_id, status: data.status, forwarded_status: status, ...(failure && { error: failure }) },
          () => `${new Date().toISOString()}  ${event.type.padEnd(13)}  ${data.job_id}  ${data.status.padEnd(9)}  → ${status ?? `failed (${failure})`}`,
        );
        seen += 1;
        if (seen >= maxEvents) finish();
      };
      const report = (value: Record<string, unknown>, human: () => string) => (wantsJson(flags) ? printJsonLine(value) : process.stdout.write(human() + "\n"));

      receiver.listen(flags.port ? parseInteger(flags.port, "--port", 0) : 0, flags.host);
      await once(receiver, "listening");
      const address = receiver.address() as AddressInfo;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      const target = flags.publicUrl ? flags.publicUrl : `http://${host}:${address.port}/`;
      let endpointId: string | null = null;
      const cleanup = async () => {
        receiver.closeAllConnections();
        receiver.close();
        if (endpointId) await client.webhooks.deleteEndpoint(endpointId).catch(() => undefined);
        endpointId = null;
      };
      try {
        const endpoint = await client.webhooks.createEndpoint({ url: target, events, description: `aeriox webhooks listen → ${forwardTo.href}` });
        endpointId = endpoint.id;
        secret = endpoint.secret;
        report(
          { ready: true, endpoint_id: endpoint.id, url: target, forward_to: forwardTo.href, events, secret },
          () => `Ready! Forwarding ${events.join(", ")} to ${forwardTo.href}\nEndpoint ${endpoint.id} → ${target} (deleted on exit)\nSigning secret: ${secret} (verify with it in your app)\nCtrl-C to stop.`,
        );
        const stop = () => finish();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        await finished;
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      } finally {
        await cleanup();
      }
    }),
  );
}

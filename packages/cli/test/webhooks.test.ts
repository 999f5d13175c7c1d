/**
 * `aeriox webhooks …` as a user runs it: the real binary against a real API server (embedded, or
 * PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set). `webhooks listen` registers a temporary endpoint
 * at a receiver it starts, verifies each delivery, forwards it unchanged to --forward-to (whose app can
 * verify it with the printed secret), answers the server with the app's status (so a 500 from the app
 * makes the server retry, with the same webhook-id) and deletes the endpoint when it exits.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import path from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, startWebhookReceiver, type TestServer, type WebhookReceiver } from "@aeriox/server/testing";
import { BIN, cliEnv, runCli } from "./run-cli.ts";

const tmp = mkdtempSync(path.join(tmpdir(), "aeriox-webhooks-"));
let server: TestServer;
let app: WebhookReceiver;
let key: string;
let env: NodeJS.ProcessEnv;
const SLOW = 180_000;

beforeAll(async () => {
  app = await startWebhookReceiver();
  server = await startTestServer({ env: { FETCH_ALLOW_PRIVATE_NETWORKS: "true", WEBHOOK_RETRY_BASE_MS: "300" } });
  key = (await server.createKey({ workspace: "cli-webhooks" })).key;
  env = cliEnv({ AERIOX_BASE_URL: server.url, AERIOX_API_KEY: key, XDG_CONFIG_HOME: path.join(tmp, "xdg"), AERIOX_MAX_RETRIES: "0" });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const json = (r: { code: number | null; stdout: string; stderr: string }) => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, any>;
};

describe("aeriox webhooks", () => {
  it(
    "listen forwards a verified job.completed, relays a 500 so the server retries with the same webhook-id, and deletes its endpoint on exit",
    async () => {
      app.plan("/hooks", [500, 200]);
      const child = spawn(process.execPath, [BIN, "webhooks", "listen", "--forward-to", `${app.url}/hooks`, "--events", "job.completed", "--max-events", "2", "--json"], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      const deadline = Date.now() + 60_000;
      while (!stdout.includes("\n") && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      const ready = JSON.parse(stdout.split("\n")[0]!) as { ready: boolean; endpoint_id: string; secret: string };
      expect(ready.ready, stderr).toBe(true);
      expect(ready.secret).toMatch(/^whsec_/);
      const endpoints = json(await runCli(["webhooks", "endpoints", "list", "--json"], env));
      expect(endpoints.data.map((e: { id: string }) => e.id)).toContain(ready.endpoint_id);

      const job = json(await runCli(["image", "a listened fox", "--model", "local/image", "--no-wait", "--json"], env)) as { job_id: string };
      expect(await exited, stderr).toBe(0);

      const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>);
      expect(lines.slice(1).map((l) => [l.type, l.job_id, l.status, l.forwarded_status])).toEqual([
        ["job.completed", job.job_id, "completed", 500],
        ["job.completed", job.job_id, "completed", 200],
      ]);
      const forwarded = app.received.filter((w) => w.path === "/hooks");
      expect(forwarded).toHaveLength(2);
      expect(forwarded[1]!.headers["webhook-id"]).toBe(forwarded[0]!.headers["webhook-id"]);
      // The app verifies what it got with the secret `listen` printed (Standard Webhooks, computed here independently).
      const w = forwarded[1]!;
      const expected = createHmac("sha256", Buffer.from(ready.secret.slice(6), "base64")).update(`${w.headers["webhook-id"]}.${w.headers["webhook-timestamp"]}.${w.body}`).digest("base64");
      expect(w.headers["webhook-signature"]!.split(" ")).toContain(`v1,${expected}`);
      expect(JSON.parse(w.body)).toMatchObject({ type: "job.completed", data: { job_id: job.job_id, status: "completed" } });

      // The temporary endpoint is gone.
      const after = json(await runCli(["webhooks", "endpoints", "list", "--json"], env));
      expect(after.data.map((e: { id: string }) => e.id)).not.toContain(ready.endpoint_id);
    },
    SLOW,
  );

  it(
    "endpoints create/list/rotate-secret/deliveries/delete, signing-secret and deliveries; bad input is a usage or API error, not a crash",
    async () => {
      const created = json(await runCli(["webhooks", "endpoints", "create", "https://example.com/hook", "--events", "job.started,job.completed", "--description", "ci", "--json"], env));
      expect(created.secret).toMatch(/^whsec_/);
      expect(created.events).toEqual(["job.started", "job.completed"]);
      const rotated = json(await runCli(["webhooks", "endpoints", "rotate-secret", created.id, "--json"], env));
      expect(rotated.secret).not.toBe(created.secret);
      expect(rotated.previous_secret_expires_at).toBeTruthy();
      expect(json(await runCli(["webhooks", "endpoints", "deliveries", created.id, "--limit", "5", "--json"], env)).data).toEqual([]);
      const secret = json(await runCli(["webhooks", "signing-secret", "--json"], env));
      expect(secret.secret).toMatch(/^whsec_/);
      expect(json(await runCli(["webhooks", "rotate-signing-secret", "--json"], env)).secret).not.toBe(secret.secret);
      expect(Array.isArray(json(await runCli(["webhooks", "deliveries", "--json"], env)).data)).toBe(true);
      expect(json(await runCli(["webhooks", "endpoints", "delete", created.id, "--json"], env)).id).toBe(created.id);

      const bad = await runCli(["webhooks", "endpoints", "create", "ftp://example.com/x", "--json"], env);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("invalid_webhook_url");
      const badEvents = await runCli(["webhooks", "endpoints", "create", "https://example.com/x", "--events", "job.exploded"], env);
      expect(badEvents.code).not.toBe(0);
      expect(badEvents.stderr).toContain("--events");
      const gone = await runCli(["webhooks", "endpoints", "delete", created.id], env);
      expect(gone.code).not.toBe(0);
      expect(gone.stderr).toMatch(/not.found|not_found/i);
    },
    SLOW,
  );
});

/**
 * `aeriox serve` and the admin commands as a self-hoster runs them: spawned
 * processes on a private data folder (embedded default, or the PostgreSQL/Redis
 * of the environment when set).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runCli, startCliServer } from "./run-cli.ts";

const dataDir = mkdtempSync(path.join(tmpdir(), "aeriox-cli-"));
const env = cliEnv({ DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1" });
let server: Awaited<ReturnType<typeof startCliServer>>;

beforeAll(async () => {
  server = await startCliServer(env);
}, 90_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("aeriox serve", () => {
  it("answers /healthz, /readyz and /openapi.json", async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    const readiness = (await ready.json()) as { status: string; checks: Record<string, string> };
    expect(readiness.status).toBe("ready");
    expect(readiness.checks.database).toBe("ok");
    expect(readiness.checks.queue).toBe(process.env.REDIS_URL ? "ok" : "not_configured");
    const spec = await fetch(`${server.url}/openapi.json`);
    expect(spec.status).toBe(200);
  });

  it("prints how to create a key", () => {
    expect(server.output()).toContain("aeriox keys create");
  });

  it("creates a working key while the server holds the data folder", async () => {
    const result = await runCli(["keys", "create", "--workspace", "studio", "--json"], env);
    expect(result.code, result.stderr).toBe(0);
    const created = JSON.parse(result.stdout) as { key: string; key_id: string; workspace_id: string };
    expect(created.key).toMatch(/^sk_live_[A-Za-z0-9_-]{43}$/);
    expect(created.key_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.workspace_id).toMatch(/^[0-9a-f-]{36}$/);
    const me = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${created.key}` } });
    expect(me.status).toBe(200);
    const again = JSON.parse((await runCli(["keys", "create", "--workspace", "studio", "--json"], env)).stdout);
    expect(again.workspace_id).toBe(created.workspace_id);
  });

  it("aeriox keys create sets the key's limits with the update command's flags", async () => {
    const result = await runCli(["keys", "create", "--workspace", "studio-limited", "--scopes", "generate", "--monthly-budget-usd", "3", "--allow-models", "local/echo", "--json"], env);
    expect(result.code, result.stderr).toBe(0);
    const created = JSON.parse(result.stdout) as { key: string };
    expect(created).toMatchObject({ scopes: ["generate"], daily_spend_cap_usd: null, monthly_budget_usd: 3, allowed_models: ["local/echo"] });
    const refused = await fetch(`${server.url}/v1/images/generate`, {
      method: "POST",
      headers: { authorization: `Bearer ${created.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "local/image", prompt: "fox" }),
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("model_not_allowed");
    const unknown = await runCli(["keys", "create", "--workspace", "studio-limited", "--allow-models", "no-such/model"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown_model");
  });

  it.skipIf(!!process.env.DATABASE_URL)("keeps the admin channel file private", () => {
    expect(statSync(path.join(dataDir, "admin.json")).mode & 0o777).toBe(0o600);
  });

  it.skipIf(!!process.env.DATABASE_URL)("refuses a second server on the same data folder", async () => {
    const second = await runCli(["serve"], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/in use by another aeriox server \(pid \d+\)/);
    expect(second.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("serves MCP over streamable HTTP at /mcp with the caller's key", async () => {
    const created = JSON.parse((await runCli(["keys", "create", "--workspace", "mcp-http", "--json"], env)).stdout) as { key: string };
    const anonymous = await fetch(`${server.url}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(anonymous.status).toBe(401);
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
    const client = new Client({ name: "serve-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${created.key}` } } }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["generate_image_and_wait", "get_me"]));
      const me = await client.callTool({ name: "get_me", arguments: {} });
      expect(JSON.stringify(me.content)).toContain("mcp-http");
    } finally {
      await client.close();
    }
  });

  it("migrate reports an up-to-date database", async () => {
    const result = await runCli(["migrate", "--json"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).applied).toEqual([]);
  });
});

describe("configuration errors", () => {
  it("stop start-up with a one-line reason naming the variable", async () => {
    const result = await runCli(["serve"], cliEnv({ DATA_DIR: dataDir, PORT: "eighty" }));
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^aeriox: Invalid environment variable PORT: /);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("reject a malformed DATABASE_URL", async () => {
    const result = await runCli(["migrate"], cliEnv({ DATA_DIR: dataDir, DATABASE_URL: "mysql://nope" }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("DATABASE_URL");
  });
});

describe("usage errors", () => {
  it("exit 2 with help on a missing required flag", async () => {
    const result = await runCli(["keys", "create"], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--workspace");
  });
});

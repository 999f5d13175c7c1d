/**
 * Budgets per key from the SDK (`client.apiKeys.create | update`), the CLI (`aeriox api-keys
 * create | update`, the real binary; `aeriox keys update`'s flags) and the MCP tool's schema
 * against a real server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Aeriox, PermissionDeniedError, InsufficientFundsError } from "@aeriox/sdk";
import { startTestServer, type TestServer } from "@aeriox/server/testing";
import { buildTools } from "../src/mcp/tools.ts";
import { cliEnv, runCli } from "./run-cli.ts";

const SLOW = 180_000;
let server: TestServer;
let key: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  server = await startTestServer();
  ({ key } = await server.createKey({ workspace: "cli-key-update" }));
  env = cliEnv({ AERIOX_BASE_URL: server.url, AERIOX_API_KEY: key, AERIOX_MAX_RETRIES: "0" });
}, SLOW);
afterAll(() => server?.close());

describe("SDK apiKeys.update", () => {
  it("changes the limits, and the key is then held to them", async () => {
    const client = new Aeriox({ apiKey: key, baseUrl: server.url, maxRetries: 0 });
    const created = await client.apiKeys.create({ name: "sdk", scopes: ["generate", "read"] });
    const updated = await client.apiKeys.update(created.key_id, { name: "sdk-budget", monthly_budget_usd: 0.000001, allowed_models: ["local/echo"] });
    expect(updated).toMatchObject({ id: created.key_id, name: "sdk-budget", scopes: ["generate", "read"], monthly_budget_usd: 0.000001, monthly_spent_usd: 0, allowed_models: ["local/echo"] });
    expect(Date.parse(updated.monthly_budget_resets_at)).toBeGreaterThan(Date.now());

    const limited = new Aeriox({ apiKey: created.key, baseUrl: server.url, maxRetries: 0 });
    await expect(limited.images.generate({ model: "local/image", prompt: "fox" })).rejects.toMatchObject({ status: 403, code: "model_not_allowed" });
    await limited.images.generate({ model: "local/echo", prompt: "one" });
    const over = await limited.images.generate({ model: "local/echo", prompt: "two" }).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(InsufficientFundsError);
    expect(over).toMatchObject({ status: 402, code: "key_budget_exceeded" });

    // A key with fewer scopes may not change a key with more.
    const reader = await client.apiKeys.create({ scopes: ["admin", "read"] });
    const weak = new Aeriox({ apiKey: reader.key, baseUrl: server.url, maxRetries: 0 });
    const refused = await weak.apiKeys.update(created.key_id, { name: "x" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PermissionDeniedError);
    expect(refused).toMatchObject({ status: 403, code: "insufficient_scope" });
  }, SLOW);
});

describe("aeriox api-keys update", () => {
  it("sets every limit with typed flags, and clears them with none/all", async () => {
    const { key_id: id } = (await (await server.request("/v1/api-keys", { method: "POST", key, json: { name: "cli" } })).json()) as { key_id: string };
    const set = await runCli(
      ["api-keys", "update", id, "--name", "nightly", "--scopes", "read,generate", "--daily-cap-usd", "2", "--monthly-budget-usd", "10.5", "--allow-models", "local/echo,fal-ai/kling-3.0", "--json"],
      env,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      id,
      name: "nightly",
      scopes: ["generate", "read"],
      daily_spend_cap_usd: 2,
      monthly_budget_usd: 10.5,
      monthly_spent_usd: 0,
      allowed_models: ["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"],
    });
    const cleared = await runCli(["api-keys", "update", id, "--daily-cap-usd", "none", "--monthly-budget-usd", "none", "--allow-models", "all", "--json"], env);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ name: "nightly", scopes: ["generate", "read"], daily_spend_cap_usd: null, monthly_budget_usd: null, allowed_models: null });
  }, SLOW);

  it("refuses bad flags before calling the server (exit 2), and reports the server's 400 (exit 1)", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    const [tooFine, negative, noFlags, badScope, unknownModel, adminNoFlags] = await Promise.all([
      runCli(["api-keys", "update", id, "--monthly-budget-usd", "1.0000001"], env),
      runCli(["api-keys", "update", id, "--daily-cap-usd", "-1"], env),
      runCli(["api-keys", "update", id], env),
      runCli(["api-keys", "update", id, "--scopes", "root"], env),
      runCli(["api-keys", "update", id, "--allow-models", "no-such/model"], env),
      runCli(["keys", "update", id], env),
    ]);
    expect(tooFine.code).toBe(2);
    expect(tooFine.stderr).toContain("--monthly-budget-usd");
    expect(negative.code).toBe(2);
    expect(noFlags.code).toBe(2);
    expect(noFlags.stderr).toContain("nothing to change");
    expect(badScope.code).toBe(2);
    expect(unknownModel.code).toBe(1);
    expect(unknownModel.stderr).toContain("unknown_model");
    expect(adminNoFlags.code).toBe(2);
    expect(adminNoFlags.stderr).toContain("nothing to change");
  }, SLOW);
});

describe("creating a key with its limits", () => {
  it("SDK apiKeys.create: the new key is held to its budget and models from its first request", async () => {
    const client = new Aeriox({ apiKey: key, baseUrl: server.url, maxRetries: 0 });
    const created = await client.apiKeys.create({ name: "sdk-limited", scopes: ["generate", "read", "admin"], monthly_budget_usd: 0.000001, allowed_models: ["local/echo"] });
    expect(created).toMatchObject({ name: "sdk-limited", monthly_budget_usd: 0.000001, allowed_models: ["local/echo"] });
    const limited = new Aeriox({ apiKey: created.key, baseUrl: server.url, maxRetries: 0 });
    await expect(limited.images.generate({ model: "local/image", prompt: "fox" })).rejects.toMatchObject({ status: 403, code: "model_not_allowed" });
    await limited.images.generate({ model: "local/echo", prompt: "one" });
    await expect(limited.images.generate({ model: "local/echo", prompt: "two" })).rejects.toMatchObject({ status: 402, code: "key_budget_exceeded" });
    // It cannot create a key looser than itself.
    const refused = await limited.apiKeys.create({ monthly_budget_usd: null }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PermissionDeniedError);
    expect(refused).toMatchObject({ status: 403, code: "monthly_budget_exceeds_creator" });
    await expect(limited.apiKeys.create({ allowed_models: ["local/image"] })).rejects.toMatchObject({ status: 403, code: "allowed_models_exceed_creator" });
  }, SLOW);

  it("aeriox api-keys create takes the update command's limit flags", async () => {
    const made = await runCli(
      ["api-keys", "create", "--name", "cli-limited", "--scopes", "generate,read", "--daily-cap-usd", "2", "--monthly-budget-usd", "10.5", "--allow-models", "local/echo,fal-ai/kling-3.0", "--json"],
      env,
    );
    expect(made.code, made.stderr).toBe(0);
    const body = JSON.parse(made.stdout) as { key_id: string };
    expect(body).toMatchObject({
      name: "cli-limited",
      scopes: ["generate", "read"],
      daily_spend_cap_usd: 2,
      monthly_budget_usd: 10.5,
      allowed_models: ["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"],
    });
    const list = (await (await server.request("/v1/api-keys", { key })).json()) as { data: Array<{ id: string; monthly_budget_usd: number | null; allowed_models: string[] | null }> };
    expect(list.data.find((k) => k.id === body.key_id)).toMatchObject({ monthly_budget_usd: 10.5, allowed_models: ["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"] });

    // none / all ask for no limit; the older --daily-cap still works.
    const open = await runCli(["api-keys", "create", "--monthly-budget-usd", "none", "--allow-models", "all", "--daily-cap", "1"], env);
    expect(open.code, open.stderr).toBe(0);
    expect(JSON.parse(open.stdout)).toMatchObject({ daily_spend_cap_usd: 1, monthly_budget_usd: null, allowed_models: null });

    const [tooFine, unknownModel] = await Promise.all([
      runCli(["api-keys", "create", "--monthly-budget-usd", "1.0000001"], env),
      runCli(["api-keys", "create", "--allow-models", "no-such/model"], env),
    ]);
    expect(tooFine.code).toBe(2);
    expect(tooFine.stderr).toContain("--monthly-budget-usd");
    expect(unknownModel.code).toBe(1);
    expect(unknownModel.stderr).toContain("unknown_model");
  }, SLOW);

  it("the MCP tool create_api_key takes monthly_budget_usd and allowed_models (from the spec)", () => {
    const tool = buildTools().find((t) => t.name === "create_api_key")!;
    expect(tool.inputSchema.properties).toMatchObject({
      monthly_budget_usd: { type: ["number", "null"], maximum: 1000000 },
      allowed_models: { type: ["array", "null"], maxItems: 100 },
    });
  });
});

/**
 * `aeriox mcp` as an MCP host runs it: an MCP SDK Client over stdio spawning the real binary
 * (`node packages/cli/dist/bin.js mcp`, the bundle: run-cli.ts, cwd = repo root) against a real API server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "@aeriox/server/testing";
import { BIN, REPO_ROOT, cliEnv } from "./run-cli.ts";

const tmp = mkdtempSync(path.join(tmpdir(), "aeriox-mcp-"));
let server: TestServer;
let client: Client;
let key: string;

beforeAll(async () => {
  server = await startTestServer();
  key = (await server.createKey({ workspace: "mcp" })).key;
  const env = cliEnv({ AERIOX_BASE_URL: server.url, AERIOX_API_KEY: key, XDG_CONFIG_HOME: tmp });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "mcp"],
    cwd: REPO_ROOT,
    env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    stderr: "pipe",
  });
  client = new Client({ name: "aeriox-test", version: "1.0.0" });
  await client.connect(transport);
});
afterAll(async () => {
  await client?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const text = (r: unknown) => JSON.parse(((r as { content: { text: string }[] }).content[0]!).text) as Record<string, any>;

describe("aeriox mcp", () => {
  it("lists one tool per operation (minus documented exclusions) plus the composite tools, with live prices", async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["generate_image", "get_job", "list_cards", "get_me", "generate_image_and_wait", "wait_for_job", "estimate_cost"]));
    expect(names).not.toContain("oauth_token");
    expect(names).not.toContain("download_asset");
    expect(new Set(names).size).toBe(names.length);
    const gen = tools.find((t) => t.name === "generate_image")!;
    expect(gen.description).toMatch(/Costs .*\$0\.003 per megapixel with fal-ai\/flux\/schnell/);
    expect(gen.description).toMatch(/per image with local\/image/);
    expect(gen.inputSchema.required).toEqual(expect.arrayContaining(["model", "prompt"]));
    expect(JSON.stringify(gen.inputSchema)).not.toContain("$ref");
    const getJob = tools.find((t) => t.name === "get_job")!;
    expect(getJob.inputSchema.required).toEqual(["id"]);
    expect(getJob.annotations?.readOnlyHint).toBe(true);
  }, 180_000);

  it("generate_image_and_wait returns the finished job with its asset URL", async () => {
    const result = await client.callTool({ name: "generate_image_and_wait", arguments: { model: "local/image", prompt: "a lighthouse", seed: 3 } });
    expect(result.isError).toBeFalsy();
    const job = text(result);
    expect(job.status).toBe("completed");
    expect(job.output_urls[0]).toMatch(/\/v1\/assets\/[0-9a-f-]{36}\/content\?/);
    const png = await fetch(job.output_urls[0].replace("localhost", "127.0.0.1"));
    expect(png.status).toBe(200);

    const waited = text(await client.callTool({ name: "wait_for_job", arguments: { job_id: job.job_id } }));
    expect(waited.status).toBe("completed");
    const estimate = await client.callTool({ name: "estimate_cost", arguments: { model: "local/image", prompt: "x" } });
    const est = text(estimate);
    expect(estimate.isError, JSON.stringify(est)).toBeFalsy();
    expect(est.would_succeed, JSON.stringify(est)).toBe(true);
    expect(est.catalog_prices[0].unit).toBe("image");
    // The spec's estimate request, image_url included: an image model takes no start image.
    const withImage = await client.callTool({ name: "estimate_cost", arguments: { model: "local/image", prompt: "x", image_url: "https://example.com/start.png" } });
    expect(withImage.isError).toBe(true);
    expect(text(withImage).error.code).toBe("unsupported_parameter");
  }, 180_000);

  it("rejects bad arguments with an MCP error naming the field, before calling the API", async () => {
    await expect(client.callTool({ name: "generate_image", arguments: { model: "local/image", prompt: 42 } })).rejects.toThrow(/-32602.*prompt: must be string/);
    await expect(client.callTool({ name: "generate_image", arguments: { prompt: "x" } })).rejects.toThrow(/model: is required/);
    await expect(client.callTool({ name: "get_job", arguments: { id: "x", extra: 1 } })).rejects.toThrow(/unknown argument|id: must match format/);
    await expect(client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow(/Unknown tool no_such_tool/);
  }, 180_000);

  it("returns API errors as tool errors carrying the API's code and message", async () => {
    const missing = await client.callTool({ name: "get_job", arguments: { id: "00000000-0000-4000-8000-000000000000" } });
    expect(missing.isError).toBe(true);
    expect(text(missing).error).toMatchObject({ code: "not_found", status: 404 });
    expect(text(missing).error.message).toBeTruthy();
    const refused = await client.callTool({ name: "generate_video", arguments: { model: "local/video", prompt: "x", duration_s: 60 } });
    expect(refused.isError).toBe(true);
    expect(text(refused).error.code).toMatch(/^[a-z_]+$/);
  }, 180_000);
});

describe("aeriox mcp --http", () => {
  it("serves streamable HTTP at /mcp, acting with each request's bearer key", async () => {
    const env = cliEnv({ AERIOX_BASE_URL: server.url, AERIOX_API_KEY: undefined, XDG_CONFIG_HOME: tmp });
    const child = spawn(process.execPath, [BIN, "mcp", "--http", "0"], { env, cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        const onData = (d: Buffer) => {
          out += d;
          const m = /listening on (http:\/\/\S+\/mcp)/.exec(out);
          if (m) resolve(m[1]!);
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("close", (code) => reject(new Error(`aeriox mcp --http exited with ${code}: ${out}`)));
      });
      const anonymous = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
      expect(anonymous.status).toBe(401);

      const http = new Client({ name: "aeriox-http-test", version: "1.0.0" });
      await http.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
      const { tools } = await http.listTools();
      expect(tools.map((t) => t.name)).toContain("generate_image_and_wait");
      const me = await http.callTool({ name: "get_me", arguments: {} });
      expect(me.isError).toBeFalsy();
      expect(text(me).workspace.name).toBe("mcp");
      await expect(http.callTool({ name: "get_job", arguments: {} })).rejects.toThrow(/id: is required/);
      await http.close();
    } finally {
      child.kill("SIGTERM");
    }
  }, 180_000);
});

/**
 * Adding an endpoint is: spec, handler, domain function, tests. The clients need no edit: a
 * fixture spec = the real spec plus one hypothetical operation (`getWidget`, GET /v1/widgets/{id},
 * `x-aeriox-sdk: widgets.get`, `x-aeriox-cli: widgets get`) yields an SDK method (the SDK's
 * generators, hey-api and the operation map, run on the fixture), a CLI command (`aeriox widgets get <id>`, built by
 * the spec-driven command builder) and an MCP tool (`get_widget`), each calling a stand-in server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contractOf, readDocumentFile, SPEC_PATH, type Schema } from "@aeriox/contract";
import { sdkOperationsSource } from "@aeriox/contract/codegen";
import { Aeriox } from "@aeriox/sdk";
import { bindSpecMethods, hasHandWrittenMethod } from "../../sdk/src/operations.ts";
import { BIN, REPO_ROOT, cliEnv, runCli } from "./run-cli.ts";

const tmp = mkdtempSync(path.join(tmpdir(), "aeriox-widget-"));
const KEY = "sk_live_widgets";
const WIDGET = { id: "w_1", name: "Sprocket" };

/** The real spec plus `getWidget`: the only thing a new endpoint adds for the clients. */
function fixtureSpec(): Schema {
  const doc = readDocumentFile(SPEC_PATH);
  doc.tags.push({ name: "Widgets", description: "A hypothetical resource added by this test" });
  doc.paths["/v1/widgets/{id}"] = {
    get: {
      operationId: "getWidget",
      tags: ["Widgets"],
      summary: "Get a widget",
      description: "Returns one widget by id.",
      "x-aeriox-scope": "read",
      "x-aeriox-sdk": "widgets.get",
      "x-aeriox-cli": "widgets get",
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      responses: {
        "200": {
          description: "The widget",
          content: { "application/json": { schema: { type: "object", properties: { id: { type: "string" }, name: { type: "string" } }, required: ["id", "name"] } } },
        },
        "404": { $ref: "#/components/responses/NotFound" },
      },
    },
  };
  return doc;
}

const fixture = fixtureSpec();
const fixtureFile = path.join(tmp, "fixture.openapi.json");
writeFileSync(fixtureFile, JSON.stringify(fixture));

/** A stand-in server that knows only the new operation. */
const requests: Array<{ method: string; url: string; auth: string | undefined }> = [];
const api = http.createServer((req, res) => {
  requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
  const ok = req.method === "GET" && req.url === `/v1/widgets/${WIDGET.id}` && req.headers.authorization === `Bearer ${KEY}`;
  res.writeHead(ok ? 200 : 404, { "content-type": "application/json" });
  res.end(JSON.stringify(ok ? WIDGET : { error: { code: "not_found", message: `${req.method} ${req.url} is not a widget` } }));
});
let baseUrl: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => api.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

describe("a new endpoint in the spec reaches every client with no other edit", () => {
  it("the contract reads it with its metadata", () => {
    const op = contractOf(fixture).byId.get("getWidget")!;
    expect(op).toMatchObject({ method: "get", path: "/v1/widgets/{id}", tag: "Widgets", scope: "read", authenticated: true, sdk: { method: "widgets.get" }, cli: { command: "widgets get" }, mcpExcluded: null });
    expect(op.params.map((p) => p.name)).toEqual(["id"]);
  });

  it("SDK: `pnpm gen`'s generators (hey-api, then the operation map) give it a method, which calls the API", async () => {
    // The SDK's generation, on the fixture: hey-api's request functions, then the operation map.
    const sdkDir = fileURLToPath(new URL("../../sdk/", import.meta.url));
    // hey-api is the SDK's dev dependency (ESM only): its entry, found from the SDK package.
    const heyApiPkg = createRequire(path.join(sdkDir, "package.json")).resolve("@hey-api/openapi-ts/package.json");
    const heyApiEntry = (JSON.parse(readFileSync(heyApiPkg, "utf8")) as { exports: { ".": { import: string } } }).exports["."].import;
    const { createClient } = (await import(pathToFileURL(path.join(path.dirname(heyApiPkg), heyApiEntry)).href)) as { createClient: (config: unknown) => Promise<unknown> };
    const out = path.join(tmp, "generated");
    await createClient({
      input: fixtureFile,
      output: { path: out, module: { extension: ".ts" }, postProcess: [], tsConfigPath: path.join(sdkDir, "tsconfig.json") },
      logs: { level: "silent", file: false },
      plugins: ["@hey-api/client-fetch", "@hey-api/typescript", { name: "@hey-api/sdk" }],
    });
    const handWritten = new Aeriox({ apiKey: KEY, baseUrl });
    const source = sdkOperationsSource(contractOf(fixture), { handWritten: (methodPath) => hasHandWrittenMethod(handWritten, methodPath) });
    expect(source).toContain('getWidget: "widgets.get",');
    expect(source).toContain('import { getWidget } from "./sdk.gen.ts";');
    expect(source).toContain("export const specMethodFunctions = { getWidget };");
    writeFileSync(path.join(out, "operations.gen.ts"), source);
    const generated = (await import(pathToFileURL(path.join(out, "operations.gen.ts")).href)) as { operationMethods: Record<string, string | null>; specMethodFunctions: Record<string, unknown> };

    const client = new Aeriox({ apiKey: KEY, baseUrl, maxRetries: 0 });
    bindSpecMethods(client, generated.operationMethods, generated.specMethodFunctions);
    const widgets = (client as unknown as { widgets: { get(args: { path: { id: string } }): Promise<unknown> } }).widgets;
    expect(await widgets.get({ path: { id: WIDGET.id } })).toEqual(WIDGET);
    expect(requests.at(-1)).toEqual({ method: "GET", url: `/v1/widgets/${WIDGET.id}`, auth: `Bearer ${KEY}` });
    // Errors come as the SDK's typed errors, as for every other method.
    await expect(widgets.get({ path: { id: "nope" } })).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("CLI: `aeriox widgets get <id>` exists and calls the API", async () => {
    const env = cliEnv({ AERIOX_CLIENT_SPEC: fixtureFile, AERIOX_BASE_URL: baseUrl, AERIOX_API_KEY: KEY, XDG_CONFIG_HOME: tmp });
    const help = await runCli(["widgets", "get", "--help"], env);
    expect(help.stdout).toMatch(/Usage: aeriox widgets get \[options\] <id>/);
    expect(help.stdout).toContain("Get a widget");
    const res = await runCli(["widgets", "get", WIDGET.id, "--json"], env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual(WIDGET);
    expect(requests.at(-1)).toEqual({ method: "GET", url: `/v1/widgets/${WIDGET.id}`, auth: `Bearer ${KEY}` });
    // Without the fixture the command does not exist: it comes from the spec alone.
    const without = await runCli(["widgets", "get", WIDGET.id], cliEnv({ AERIOX_BASE_URL: baseUrl, AERIOX_API_KEY: KEY, XDG_CONFIG_HOME: tmp }));
    expect(without.code).not.toBe(0);
    expect(without.stderr).toMatch(/unknown command 'widgets'/);
  });

  it("MCP: `aeriox mcp` offers get_widget, which calls the API", async () => {
    const env = cliEnv({ AERIOX_CLIENT_SPEC: fixtureFile, AERIOX_BASE_URL: baseUrl, AERIOX_API_KEY: KEY, XDG_CONFIG_HOME: tmp });
    const client = new Client({ name: "aeriox-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, "mcp"],
        cwd: REPO_ROOT,
        env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
        stderr: "pipe",
      }),
    );
    try {
      const tool = (await client.listTools()).tools.find((t) => t.name === "get_widget");
      expect(tool?.description).toContain("Get a widget");
      expect(tool?.inputSchema.required).toEqual(["id"]);
      const result = await client.callTool({ name: "get_widget", arguments: { id: WIDGET.id } });
      expect(result.isError).toBeFalsy();
      expect(JSON.parse((result.content as Array<{ text: string }>)[0]!.text)).toEqual(WIDGET);
    } finally {
      await client.close();
    }
  });
});

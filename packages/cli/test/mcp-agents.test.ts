/**
 * MCP for agents over HTTP, as an MCP client sees it: `/mcp` mounted on a real API server the
 * way `aeriox serve` mounts it (mount.ts), driven by the MCP TypeScript SDK's client —
 * credentials refused at connect with the RFC 9728 challenge, OAuth discovery + dynamic
 * registration + PKCE through the SDK's own `auth` flow, media in tool results, progress
 * notifications, and jobs/assets as resources.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { runAdminCommand } from "@aeriox/core/admin";
import { openConsentPage, startTestServer, submitConsent, type TestServer } from "@aeriox/server/testing";
import { mountMcp } from "../src/mcp/mount.ts";
import { INLINE_MEDIA_MAX_BYTES } from "../src/mcp/media.ts";

let srv: TestServer;
let adminKey: string;
let base = "";
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const REDIRECT = "http://127.0.0.1:9/callback";

beforeAll(async () => {
  srv = await startTestServer({ app: { extraRoutes: (app) => mountMcp(app, { publicUrl: () => base, apiBaseUrl: () => base }) } });
  base = srv.url;
  adminKey = (await srv.createKey({ workspace: "agents", scopes: ["read", "generate", "admin"] })).key;
}, 120_000);
afterAll(async () => {
  await srv?.close();
});

const mcpUrl = () => new URL(`${base}/mcp`);
const resourceMetadataUrl = () => `${base}/.well-known/oauth-protected-resource`;

/** A fetch that remembers every response the SDK transport received. */
function recordingFetch() {
  const seen: Response[] = [];
  const f = async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init);
    seen.push(res.clone());
    return res;
  };
  return { fetch: f, seen };
}

async function connectWithKey(key: string): Promise<Client> {
  const client = new Client({ name: "agent-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl(), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

describe("/mcp refuses a wrong, revoked or missing credential at connect", () => {
  async function refusedAtConnect(headers: Record<string, string>, error: string | null) {
    const { fetch: f, seen } = recordingFetch();
    const client = new Client({ name: "agent-test", version: "1.0.0" });
    await expect(client.connect(new StreamableHTTPClientTransport(mcpUrl(), { requestInit: { headers }, fetch: f }))).rejects.toThrow();
    const res = seen.find((r) => r.status === 401)!;
    expect(res, `statuses: ${seen.map((r) => r.status).join(", ")}`).toBeDefined();
    const challenge = res.headers.get("www-authenticate")!;
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="${resourceMetadataUrl()}"`);
    if (error) expect(challenge).toContain(`error="${error}"`);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("unauthorized");
    expect(body.error.message).toBeTruthy();
    // Nothing was initialised: no tool list ever reached the client.
    expect(seen.every((r) => r.status === 401)).toBe(true);
  }

  it("a wrong key", async () => {
    await refusedAtConnect({ authorization: "Bearer sk_live_not_a_real_key_at_all_0000000000000000" }, "invalid_token");
    await refusedAtConnect({ "x-api-key": "sk_live_wrong" }, "invalid_token");
    await refusedAtConnect({ authorization: "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln" }, "invalid_token");
  });

  it("a revoked key (that worked a moment before)", async () => {
    const created = await srv.createKey({ workspace: "agents", scopes: ["read", "generate"] });
    const ok = await connectWithKey(created.key);
    expect((await ok.listTools()).tools.length).toBeGreaterThan(10);
    await ok.close();
    const revoked = await srv.request(`/v1/api-keys/${created.key_id}`, { method: "DELETE", key: adminKey });
    expect(revoked.status).toBeLessThan(300);
    await refusedAtConnect({ authorization: `Bearer ${created.key}` }, "invalid_token");
  });

  it("no key at all", async () => {
    await refusedAtConnect({}, null);
  });

  it("a key without the read scope still connects (authenticated, only its tools' calls are limited)", async () => {
    const created = await srv.createKey({ workspace: "agents", scopes: ["generate"] });
    const client = await connectWithKey(created.key);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("generate_image_and_wait");
    await client.close();
  });
});

describe("OAuth discovery and dynamic client registration", () => {
  it("publishes RFC 9728 and RFC 8414 metadata pointing at the existing OAuth endpoints", async () => {
    const prm = (await (await fetch(resourceMetadataUrl())).json()) as Record<string, any>;
    expect(prm).toMatchObject({ resource: base, authorization_servers: [base], scopes_supported: ["read", "generate"], bearer_methods_supported: ["header"] });
    const mcpPrm = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`);
    expect(mcpPrm.status).toBe(200);
    expect(await mcpPrm.json()).toMatchObject({ resource: `${base}/mcp`, authorization_servers: [base] });
    const as = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, any>;
    expect(as).toMatchObject({
      issuer: base,
      authorization_endpoint: `${base}/v1/oauth/authorize`,
      token_endpoint: `${base}/v1/oauth/token`,
      jwks_uri: `${base}/v1/oauth/jwks`,
      registration_endpoint: `${base}/oauth/register`,
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none"],
      response_types_supported: ["code"],
    });
    expect((await fetch(as.jwks_uri)).status).toBe(200);
  });

  const register = (body: unknown, contentType = "application/json") =>
    fetch(`${base}/oauth/register`, { method: "POST", headers: { "content-type": contentType }, body: typeof body === "string" ? body : JSON.stringify(body) });

  it("registers public PKCE clients with https or loopback redirect URIs only, and refuses the rest by field", async () => {
    const ok = await register({ client_name: "Desk agent", redirect_uris: ["https://agent.example/cb", "http://localhost:33418/callback"] });
    expect(ok.status).toBe(201);
    const client = (await ok.json()) as Record<string, any>;
    expect(client).toMatchObject({ client_name: "Desk agent", token_endpoint_auth_method: "none", response_types: ["code"], scope: "generate read" });
    expect(client.client_id).toMatch(/^client_/);
    expect(client).not.toHaveProperty("client_secret");

    const cases: Array<[unknown, number, string, string]> = [
      [{ redirect_uris: ["http://agent.example/cb"] }, 400, "invalid_redirect_uri", "redirect_uris.0"],
      [{ redirect_uris: ["https://agent.example/cb#frag"] }, 400, "invalid_redirect_uri", "redirect_uris.0"],
      [{ redirect_uris: [] }, 400, "invalid_redirect_uri", "redirect_uris"],
      [{ redirect_uris: ["https://a.example/cb"], token_endpoint_auth_method: "client_secret_basic" }, 400, "invalid_client_metadata", "token_endpoint_auth_method"],
      [{ redirect_uris: ["https://a.example/cb"], grant_types: ["client_credentials"] }, 400, "invalid_client_metadata", "grant_types"],
      [{ redirect_uris: ["https://a.example/cb"], scope: "read everything" }, 400, "invalid_client_metadata", "scope"],
      [{ redirect_uris: ["https://a.example/cb"], client_name: "x".repeat(500) }, 400, "invalid_client_metadata", "client_name"],
      [[1, 2], 400, "invalid_client_metadata", "body"],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await register(body);
      const err = (await res.json()) as { error: { code: string; message: string; details: { fields: Array<{ field: string }> } } };
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(err.error.code).toBe(code);
      expect(err.error.details.fields.map((f) => f.field)).toContain(field);
    }
    const notJson = await register("{", "application/json");
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toMatch(/^[a-z_]+$/);
    const wrongType = await register("redirect_uris=https://a.example", "application/x-www-form-urlencoded");
    expect(wrongType.status).toBe(415);
    const get = await fetch(`${base}/oauth/register`);
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
  });

  it("a registered client goes through the same authorize step: its redirect URIs are enforced, resource must name this API", async () => {
    const client = (await (await register({ redirect_uris: [REDIRECT] })).json()) as { client_id: string };
    const params = { response_type: "code", client_id: client.client_id, code_challenge: "a".repeat(43), code_challenge_method: "S256" };
    const other = await fetch(`${base}/v1/oauth/authorize?${new URLSearchParams({ ...params, redirect_uri: "http://127.0.0.1:9/other" })}`, { redirect: "manual" });
    expect(other.status).toBe(400);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    const wrongResource = await fetch(`${base}/v1/oauth/authorize?${new URLSearchParams({ ...params, redirect_uri: REDIRECT, resource: "https://elsewhere.example/mcp" })}`, { redirect: "manual" });
    expect(wrongResource.status).toBe(400);
    expect(((await wrongResource.json()) as { error: { code: string } }).error.code).toBe("invalid_target");
    const ours = await fetch(`${base}/v1/oauth/authorize?${new URLSearchParams({ ...params, redirect_uri: REDIRECT, resource: `${base}/mcp` })}`, { redirect: "manual" });
    expect(ours.status).toBe(302);
    expect(ours.headers.get("location")).toMatch(/^\/v1\/oauth\/consent\?request=/);
  });
});

/** An MCP client's OAuth state in memory; the "browser" step is the consent form submitted by the workspace owner. */
class AgentOAuthProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  code: string | undefined;
  authorizationUrl: URL | undefined;
  constructor(private readonly ownerKey: string) {}
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "SDK agent", redirect_uris: [REDIRECT], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
    expect(url.origin + url.pathname).toBe(`${base}/v1/oauth/authorize`);
    const page = await openConsentPage(srv, Object.fromEntries(url.searchParams));
    expect(page.html).toContain("SDK agent");
    const res = await submitConsent(srv, page, { decision: "approve", api_key: this.ownerKey });
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get("location")!);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    this.code = back.searchParams.get("code")!;
  }
}

describe("an MCP client signs in with OAuth (SDK auth flow) and calls tools", () => {
  it("discovers, registers, authorizes with PKCE, exchanges the code, and its token is accepted by /mcp", async () => {
    const provider = new AgentOAuthProvider(adminKey);
    const first = new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider });
    await expect(new Client({ name: "oauth-agent", version: "1.0.0" }).connect(first)).rejects.toThrow(UnauthorizedError);
    // Discovery found the registration endpoint and registered a public client.
    expect(provider.info?.client_id).toMatch(/^client_/);
    const listed = (await runAdminCommand(srv.runtime, "oauth-clients.list", {})) as { clients: Array<{ client_id: string; redirect_uris: string[]; scopes: string[] }> };
    expect(listed.clients.find((c) => c.client_id === provider.info!.client_id)).toMatchObject({ redirect_uris: [REDIRECT], scopes: ["generate", "read"] });
    // The authorization request the SDK built: PKCE S256, the PRM's scopes, the resource.
    const q = provider.authorizationUrl!.searchParams;
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("scope")).toBe("read generate");
    expect(q.get("resource")).toBe(base);
    expect(provider.code).toBeTruthy();

    await first.finishAuth(provider.code!);
    expect(provider.saved?.access_token).toMatch(/^eyJ/);
    expect(provider.saved?.refresh_token).toBeTruthy();

    const client = new Client({ name: "oauth-agent", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider }));
    try {
      const me = await client.callTool({ name: "get_me", arguments: {} });
      expect(me.isError, JSON.stringify(me.content)).toBeFalsy();
      expect((me.structuredContent as { workspace: { name: string } }).workspace.name).toBe("agents");
      const job = await client.callTool({ name: "generate_image_and_wait", arguments: { model: "local/image", prompt: "an owl", resolution: "64x64" } });
      expect(job.isError, JSON.stringify(job.content)).toBeFalsy();
      expect((job.content as CallToolResult["content"]).some((c) => c.type === "image")).toBe(true);
    } finally {
      await client.close();
    }

    // A revoked access token is refused at connect again.
    const revoke = await fetch(`${base}/v1/oauth/revoke`, {
      method: "POST",
      body: new URLSearchParams({ token: provider.saved!.refresh_token!, client_id: provider.info!.client_id }),
    });
    expect(revoke.status).toBe(200);
    const refused = await fetch(mcpUrl(), {
      method: "POST",
      headers: { authorization: `Bearer ${provider.saved!.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toContain("resource_metadata=");
  }, 120_000);
});

describe("tool results carry the media; jobs and assets are resources; waits report progress", () => {
  let client: Client;
  beforeAll(async () => {
    client = await connectWithKey(adminKey);
  });
  afterAll(async () => {
    await client?.close();
  });

  it("generate_image_and_wait on local/image returns an image block whose bytes are a PNG, with progress notifications", async () => {
    const progress: Progress[] = [];
    const result = (await client.callTool(
      { name: "generate_image_and_wait", arguments: { model: "local/image", prompt: "a lighthouse at dusk", seed: 7 } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(result.isError, JSON.stringify(result.content).slice(0, 500)).toBeFalsy();
    const job = JSON.parse((result.content[0] as { text: string }).text) as { job_id: string; status: string; asset_ids: string[] };
    expect(job.status).toBe("completed");
    const image = result.content.find((c) => c.type === "image") as { data: string; mimeType: string };
    expect(image.mimeType).toBe("image/png");
    const bytes = Buffer.from(image.data, "base64");
    expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(bytes.length).toBeLessThanOrEqual(INLINE_MEDIA_MAX_BYTES);
    // The same bytes as the asset's download.
    const asset = (await (await srv.request(`/v1/assets/${job.asset_ids[0]}`, { key: adminKey })).json()) as { url: string };
    const downloaded = Buffer.from(await (await fetch(asset.url)).arrayBuffer());
    expect(downloaded.equals(bytes)).toBe(true);

    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)).toMatchObject({ progress: 100, total: 100 });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);

    // Resources: the job as JSON, the asset as its bytes.
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(["aeriox://jobs/{id}", "aeriox://assets/{id}"]);
    const jobResource = await client.readResource({ uri: `aeriox://jobs/${job.job_id}` });
    expect(JSON.parse((jobResource.contents[0] as { text: string }).text)).toMatchObject({ job_id: job.job_id, status: "completed" });
    const assetResource = await client.readResource({ uri: `aeriox://assets/${job.asset_ids[0]}` });
    expect(assetResource.contents[0]!.mimeType).toBe("image/png");
    expect(Buffer.from((assetResource.contents[0] as { blob: string }).blob, "base64").equals(bytes)).toBe(true);
    await expect(client.readResource({ uri: "aeriox://jobs/00000000-0000-4000-8000-000000000000" })).rejects.toThrow(/-32002|not found/i);
    await expect(client.readResource({ uri: "https://elsewhere.example/x" })).rejects.toThrow(/Unknown resource/);
  }, 120_000);

  it("audio comes back as an audio block, video as a resource_link to the signed download", async () => {
    const audioJob = (await client.callTool({ name: "generate_audio", arguments: { model: "local/tts", text: "hello agent" } })) as CallToolResult;
    expect(audioJob.isError, JSON.stringify(audioJob.content)).toBeFalsy();
    const audioId = (audioJob.structuredContent as { job_id: string }).job_id;
    const audio = (await client.callTool({ name: "wait_for_job", arguments: { job_id: audioId } })) as CallToolResult;
    const block = audio.content.find((c) => c.type === "audio") as { data: string; mimeType: string };
    expect(block, JSON.stringify(audio.content).slice(0, 800)).toBeDefined();
    expect(block.mimeType).toMatch(/^audio\//);
    expect(Buffer.from(block.data, "base64").subarray(0, 4).toString("latin1")).toBe("RIFF");

    const videoJob = (await client.callTool({ name: "generate_video", arguments: { model: "local/video", prompt: "waves", duration_s: 1 } })) as CallToolResult;
    expect(videoJob.isError, JSON.stringify(videoJob.content)).toBeFalsy();
    const videoId = (videoJob.structuredContent as { job_id: string }).job_id;
    const video = (await client.callTool({ name: "wait_for_job", arguments: { job_id: videoId, timeout_s: 110 } })) as CallToolResult;
    expect(video.isError, JSON.stringify(video.content).slice(0, 800)).toBeFalsy();
    const link = video.content.find((c) => c.type === "resource_link") as { uri: string; mimeType: string; name: string; size: number };
    expect(link, JSON.stringify(video.content).slice(0, 800)).toBeDefined();
    expect(link.mimeType).toBe("video/mp4");
    expect(link.name).toMatch(/\.mp4$/);
    expect(video.content.some((c) => c.type === "image" || c.type === "audio")).toBe(false);
    const download = await fetch(link.uri);
    expect(download.status).toBe(200);
    expect((await download.arrayBuffer()).byteLength).toBe(link.size);
  }, 150_000);
});

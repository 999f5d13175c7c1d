/**
 * The consent flow in a real browser (headless Chromium via playwright-core): a tiny
 * client app on another loopback origin starts the flow, the owner types an admin
 * API key into the consent page and clicks Approve, the browser lands on the client's
 * redirect URI with a code, and the code exchanges for tokens that call the API.
 * This also proves the page's CSP lets the form's 303 reach the client's origin.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { startTestServer, type TestServer } from "./harness.ts";
import { authorizeUrl, pkcePair, registerClient, token } from "./oauth-flow.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);

let srv: TestServer;
let clientApp: Server;
let clientOrigin: string;
let browser: Browser | undefined;
const callbacks: URL[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  srv = await startTestServer();
  clientApp = createServer((req, res) => {
    const url = new URL(req.url ?? "/", clientOrigin);
    if (url.pathname === "/callback") callbacks.push(url);
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>Client app</title><h1>Back at the client</h1>");
  });
  await new Promise<void>((resolve) => clientApp.listen(0, "127.0.0.1", resolve));
  clientOrigin = `http://127.0.0.1:${(clientApp.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (clientApp ? clientApp.close(resolve) : resolve(undefined)));
  await srv?.close();
});

describe("consent in a browser", () => {
  it.skipIf(!hasChromium)("approve: lands on the client's redirect URI with a code that exchanges for tokens", async () => {
    const redirectUri = `${clientOrigin}/callback`;
    const client = await registerClient(srv, { name: "Browser Client", redirectUris: [redirectUri], scopes: ["read", "generate"] });
    const { key, workspace_id } = await srv.createKey({ scopes: ["admin"] });
    const { verifier, challenge } = pkcePair();
    const context = await browser!.newContext();
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });

    await page.goto(srv.url + authorizeUrl({ response_type: "code", client_id: client.client_id, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: "S256", scope: "read generate", state: "st 1/2" }));
    expect(page.url()).toContain("/v1/oauth/consent?request=");
    await expect(page.locator("h1").textContent()).resolves.toContain("Browser Client");
    await page.getByLabel("API key of the workspace").fill(key);
    await Promise.all([page.waitForURL((u) => u.toString().startsWith(redirectUri), { timeout: 15_000 }), page.getByRole("button", { name: "Approve" }).click()]);

    const landed = new URL(page.url());
    expect(landed.searchParams.get("state")).toBe("st 1/2");
    const code = landed.searchParams.get("code")!;
    expect(code).toMatch(/^ac_/);
    expect(callbacks.at(-1)?.searchParams.get("code")).toBe(code);
    expect(cspViolations).toEqual([]);
    await context.close();

    const { res, body } = await token(srv, { grant_type: "authorization_code", client_id: client.client_id, code, redirect_uri: redirectUri, code_verifier: verifier });
    expect(res.status).toBe(200);
    const me = await srv.request("/v1/me", { key: body.access_token });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { workspace: { id: string } }).workspace.id).toBe(workspace_id);
    expect(srv.logs.join("\n")).not.toContain(key);
  });

  it.skipIf(!hasChromium)("deny: lands on the client's redirect URI with error=access_denied", async () => {
    const redirectUri = `${clientOrigin}/callback`;
    const client = await registerClient(srv, { name: "Denied Client", redirectUris: [redirectUri], scopes: ["read"] });
    const { key } = await srv.createKey({ scopes: ["admin"] });
    const page = await browser!.newPage();
    await page.goto(srv.url + authorizeUrl({ response_type: "code", client_id: client.client_id, redirect_uri: redirectUri, code_challenge: pkcePair().challenge, code_challenge_method: "S256", state: "abc" }));
    await page.getByLabel("API key of the workspace").fill(key);
    await Promise.all([page.waitForURL((u) => u.toString().startsWith(redirectUri), { timeout: 15_000 }), page.getByRole("button", { name: "Deny" }).click()]);
    const landed = new URL(page.url());
    expect(landed.searchParams.get("error")).toBe("access_denied");
    expect(landed.searchParams.get("state")).toBe("abc");
    await page.close();
  });
});

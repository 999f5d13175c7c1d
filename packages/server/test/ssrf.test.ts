/**
 * Outbound fetches through HTTP (docs/ARCHITECTURE.md, Access → Outbound fetches): character
 * references on internal addresses fail training with the refusal, the internal service sees
 * no request, the hold is refunded in full, and nothing of the internal answer is echoed.
 *
 * The guarded server runs the production policy (public addresses only). Its one test seam is
 * the resolver: "cdn.test" stands for a public CDN and resolves to 127.0.0.3, the only address
 * this server is told to allow; "internal.test" resolves to the internal service on 127.0.0.1.
 */
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { solidPng } from "@aeriox/core/prisms";
import { auditWallet } from "@aeriox/core/wallet";
import type { Resolver } from "@aeriox/core/net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

interface Loopback {
  server: http.Server;
  port: number;
  hits: string[];
}

async function listen(host: string, handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Loopback> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    handler(req, res);
  });
  server.listen(0, host);
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port, hits };
}

const SECRET = solidPng(7, 77, 177);
/** Over the 4096-byte FETCH_MAX_BYTES of the second server. */
const BIG = Buffer.concat([solidPng(1, 2, 3), Buffer.alloc(8192)]);
const SECRET_MARKS = [createHash("sha256").update(SECRET).digest("hex"), `"bytes":${SECRET.byteLength}`, "7,77,177", "[7, 77, 177]"];

let internal: Loopback;
let cdn: Loopback;
const resolve: Resolver = async (hostname) => {
  const address = { "cdn.test": "127.0.0.3", "internal.test": "127.0.0.1" }[hostname];
  if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return [{ address, family: 4 }];
};

beforeAll(async () => {
  internal = await listen("127.0.0.1", (req, res) => {
    if (req.url === "/hang") return; // never answers
    if (req.url === "/big.png") return void res.writeHead(200, { "content-type": "image/png" }).end(BIG);
    if (req.url === "/page") return void res.writeHead(200, { "content-type": "text/html" }).end("<html>admin console</html>");
    res.writeHead(200, { "content-type": "image/png" }).end(SECRET);
  });
  cdn = await listen("127.0.0.3", (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/redirect") return void res.writeHead(302, { location: url.searchParams.get("to")! }).end();
    res.writeHead(200, { "content-type": "image/png" }).end(solidPng(200, 20, 20));
  });
});
afterAll(() => {
  internal?.server.closeAllConnections();
  internal?.server.close();
  cdn?.server.close();
});

type Failed = { job: JobBody; character: { status: string } & Record<string, unknown>; raw: string };

async function train(srv: TestServer, key: string, image_urls: string[]): Promise<Failed> {
  const res = await srv.request("/v1/characters", { method: "POST", key, json: { name: "Probe", image_urls } });
  expect(res.status).toBe(202);
  const queued = (await res.json()) as JobBody & { character_id: string };
  const job = await waitForJob(srv, key, queued.job_id);
  const characterRes = await srv.request(`/v1/characters/${queued.character_id}`, { key });
  const character = (await characterRes.json()) as { status: string } & Record<string, unknown>;
  return { job, character, raw: JSON.stringify([job, character]) };
}

async function artifactOf(job: JobBody): Promise<string> {
  expect(job.output_urls).toHaveLength(1);
  return (await fetch(job.output_urls![0]!)).text();
}

describe("guarded server (public addresses only)", () => {
  let srv: TestServer;
  let key: string;
  let workspaceId: string;
  beforeAll(async () => {
    srv = await startTestServer({ providers: { outbound: { resolve, allowAddresses: ["127.0.0.3"] } } });
    ({ key, workspace_id: workspaceId } = await srv.createKey());
  });
  afterAll(async () => {
    await srv?.close();
  });

  async function expectRefused(image_urls: string[], index: number): Promise<Failed> {
    const before = await walletOf(srv, key);
    const failed = await train(srv, key, image_urls);
    expect(failed.job.status).toBe("failed");
    expect(failed.job.error?.error.code).toBe("url_not_allowed");
    expect(failed.job.error?.error.message).toContain(`image_urls[${index}]`);
    expect(failed.job.charged_cost_usd ?? 0).toBe(0);
    expect(failed.job.output_urls ?? []).toEqual([]);
    expect(failed.character.status).toBe("failed");
    for (const mark of SECRET_MARKS) expect(failed.raw).not.toContain(mark);
    const after = await walletOf(srv, key);
    expect(after.available_micros).toBe(before.available_micros);
    expect(after.reserved_micros).toBe(0);
    return failed;
  }

  it("a reference on loopback, in any spelling, fails training with the refusal; the service sees nothing; the hold is refunded", async () => {
    const p = internal.port;
    for (const url of [
      `http://127.0.0.1:${p}/secret`,
      `http://[::ffff:127.0.0.1]:${p}/secret`,
      `http://[::ffff:7f00:1]:${p}/secret`,
      `http://2130706433:${p}/secret`,
      `http://0x7f.1:${p}/secret`,
      `http://localhost:${p}/secret`,
      `http://cdn.test@127.0.0.1:${p}/secret`,
      `http://internal.test:${p}/secret`,
    ]) {
      await expectRefused([url], 0);
    }
    expect(internal.hits).toEqual([]);
    expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
  });

  it("names the failing reference when others are fine", async () => {
    const dataUri = `data:image/png;base64,${solidPng(0, 255, 0).toString("base64")}`;
    const cdnHits = cdn.hits.length;
    await expectRefused([dataUri, `http://cdn.test:${cdn.port}/red.png`, `http://127.0.0.1:${internal.port}/secret`], 2);
    expect(cdn.hits.length).toBe(cdnHits + 1);
    expect(internal.hits).toEqual([]);
  });

  it("a redirect from an allowed host to an internal one is refused at the hop", async () => {
    for (const to of [`http://127.0.0.1:${internal.port}/secret`, `http://internal.test:${internal.port}/secret`, `http://[::1]:${internal.port}/secret`]) {
      await expectRefused([`http://cdn.test:${cdn.port}/redirect?to=${encodeURIComponent(to)}`], 0);
    }
    expect(internal.hits).toEqual([]);
  });

  it("an allowed reference trains, and the artifact holds its average colour, not its hash, size or type", async () => {
    const done = await train(srv, key, [`http://cdn.test:${cdn.port}/red.png`]);
    expect(done.job.status).toBe("completed");
    expect(done.character.status).toBe("ready");
    const artifact = JSON.parse(await artifactOf(done.job)) as { mean_rgb: number[]; references: Array<Record<string, unknown>> };
    expect(artifact.mean_rgb).toEqual([200, 20, 20]);
    expect(artifact.references).toEqual([{ url: `http://cdn.test:${cdn.port}/red.png`, mean_rgb: [200, 20, 20] }]);
  });
});

describe("FETCH_ALLOW_PRIVATE_NETWORKS=true (with a small size cap and deadline)", () => {
  let srv: TestServer;
  let key: string;
  let workspaceId: string;
  beforeAll(async () => {
    srv = await startTestServer({ env: { FETCH_ALLOW_PRIVATE_NETWORKS: "true", FETCH_MAX_BYTES: "4096", FETCH_TIMEOUT_MS: "300" } });
    ({ key, workspace_id: workspaceId } = await srv.createKey());
  });
  afterAll(async () => {
    await srv?.close();
  });

  it("a loopback reference trains", async () => {
    const done = await train(srv, key, [`http://127.0.0.1:${internal.port}/ok.png`]);
    expect(done.job.status).toBe("completed");
    expect(done.job.charged_cost_usd).toBe(0.001); // the local trainer's price (no FAL_KEY)
    const artifact = await artifactOf(done.job);
    expect(JSON.parse(artifact)).toMatchObject({ mean_rgb: [7, 77, 177] });
    // The colour is the fingerprint an operator allowed; the bytes themselves stay unconfirmable.
    expect(artifact).not.toContain(SECRET_MARKS[0]);
    expect(artifact).not.toMatch(/sha256|content_type|"bytes"/);
  });

  it.each([
    ["/big.png", "fetch_too_large"],
    ["/hang", "fetch_timeout"],
    ["/page", "unsupported_content_type"],
  ])("a reference at %s fails training with %s and is refunded in full", async (path, code) => {
    const before = await walletOf(srv, key);
    const failed = await train(srv, key, [`http://127.0.0.1:${internal.port}${path}`]);
    expect(failed.job.status).toBe("failed");
    expect(failed.job.error?.error.code).toBe(code);
    expect(failed.job.error?.error.message).toContain("image_urls[0]");
    expect(failed.raw).not.toContain("admin console");
    expect(failed.character.status).toBe("failed");
    const after = await walletOf(srv, key);
    expect(after.available_micros).toBe(before.available_micros);
    expect(after.reserved_micros).toBe(0);
    expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
  });
});

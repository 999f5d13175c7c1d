/**
 * guardedFetch against loopback servers started here. Names are resolved by an injected
 * resolver (the same seam production fills with the system resolver), and loopback is
 * reachable only where a test allows it: one exact address, or FETCH_ALLOW_PRIVATE_NETWORKS.
 */
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkUrl, guardedFetch, OutboundFetchError, type OutboundPolicy, type Resolver } from "../../src/net/index.ts";

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

const SECRET = "TOP-SECRET-0123456789";
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

/** The "public CDN" the tests may reach (127.0.0.3, explicitly allowed) and an internal service (127.0.0.2, never allowed). */
let cdn: Loopback;
let internal: Loopback;
const resolutions: string[] = [];
const names: Record<string, string[]> = {
  "cdn.test": ["127.0.0.3"],
  "internal.test": ["127.0.0.2"],
  "mixed.test": ["127.0.0.3", "10.0.0.1"], // one good answer does not launder a bad one
};
const resolve: Resolver = async (hostname) => {
  resolutions.push(hostname);
  const addresses = names[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
};
const guarded: OutboundPolicy = { allowPrivateNetworks: false, allowAddresses: ["127.0.0.3"], timeoutMs: 5_000, maxBytes: 1024, resolve };
const privateNets: OutboundPolicy = { allowPrivateNetworks: true, timeoutMs: 5_000, maxBytes: 1024 };

beforeAll(async () => {
  internal = await listen("127.0.0.2", (_req, res) => void res.writeHead(200, { "content-type": "image/png" }).end(SECRET));
  cdn = await listen("127.0.0.3", (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const to = url.searchParams.get("to");
    if (url.pathname === "/redirect" && to) return void res.writeHead(Number(url.searchParams.get("status") ?? 302), { location: to }).end();
    if (url.pathname === "/chain") {
      const n = Number(url.searchParams.get("n"));
      return void res.writeHead(302, { location: n > 0 ? `/chain?n=${n - 1}` : "/img.png" }).end();
    }
    if (url.pathname === "/img.png") return void res.writeHead(200, { "content-type": "image/png" }).end(PNG);
    if (url.pathname === "/html") return void res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<html></html>");
    if (url.pathname === "/untyped") return void res.writeHead(200).end(PNG);
    if (url.pathname === "/declared-too-large") {
      // Headers only: a client that waited for the body would wait for ever.
      res.writeHead(200, { "content-type": "image/png", "content-length": "4096" });
      return void res.flushHeaders();
    }
    if (url.pathname === "/endless") {
      res.writeHead(200, { "content-type": "image/png" });
      const t = setInterval(() => res.write(Buffer.alloc(256)), 2);
      return void res.on("close", () => clearInterval(t));
    }
    if (url.pathname === "/hang") return; // never answers
    if (url.pathname === "/trickle") {
      res.writeHead(200, { "content-type": "image/png" });
      const t = setInterval(() => res.write("x"), 50);
      return void res.on("close", () => clearInterval(t));
    }
    res.writeHead(404, { "content-type": "text/plain" }).end(SECRET);
  });
});
afterAll(() => {
  cdn?.server.closeAllConnections();
  cdn?.server.close();
  internal?.server.close();
});
beforeEach(() => {
  internal.hits.length = 0;
  cdn.hits.length = 0;
  resolutions.length = 0;
});

const at = (path: string) => `http://cdn.test:${cdn.port}${path}`;
const fetchErr = (url: string, o: Partial<Parameters<typeof guardedFetch>[1]> = {}) => guardedFetch(url, { policy: guarded, ...o }).then(() => null, (e: unknown) => e as OutboundFetchError);

describe("resolution is checked and pinned", () => {
  it("fetches from an allowed address through the injected resolver", async () => {
    const got = await guardedFetch(at("/img.png"), { policy: guarded, accept: ["image/*"] });
    expect(got).toEqual({ bytes: PNG, contentType: "image/png" });
    expect(resolutions).toEqual(["cdn.test"]);
  });

  it("refuses a name resolving to a non-public address, without connecting", async () => {
    const err = await fetchErr(`http://internal.test:${internal.port}/secret`);
    expect(err).toMatchObject({ code: "url_not_allowed" });
    expect(err!.message).toContain("internal.test");
    expect(internal.hits).toEqual([]);
  });

  it("refuses a name when any of its answers is not allowed (no connection to the allowed one either)", async () => {
    expect(await fetchErr(`http://mixed.test:${cdn.port}/img.png`)).toMatchObject({ code: "url_not_allowed" });
    expect(cdn.hits).toEqual([]);
  });

  it("a name that does not resolve is fetch_failed", async () => {
    expect(await fetchErr("http://nowhere.test/x.png")).toMatchObject({ code: "fetch_failed" });
  });
});

describe("redirects", () => {
  it("follows up to 3 hops, each one resolved again", async () => {
    const got = await guardedFetch(at("/chain?n=2"), { policy: guarded });
    expect(got.bytes).toEqual(PNG);
    expect(cdn.hits).toEqual(["/chain?n=2", "/chain?n=1", "/chain?n=0", "/img.png"]);
    expect(resolutions).toEqual(["cdn.test", "cdn.test", "cdn.test", "cdn.test"]);
  });

  it("refuses a 4th redirect", async () => {
    const err = await fetchErr(at("/chain?n=3"));
    expect(err).toMatchObject({ code: "fetch_failed" });
    expect(err!.message).toMatch(/redirected more than 3 times/);
    expect(cdn.hits).toHaveLength(4);
  });

  it.each([
    ["an IP literal", () => `http://127.0.0.2:${internal.port}/secret`],
    ["an IPv4-mapped IPv6 literal", () => `http://[::ffff:127.0.0.2]:${internal.port}/secret`],
    ["a decimal IPv4", () => `http://2130706434:${internal.port}/secret`],
    ["a name resolving to it", () => `http://internal.test:${internal.port}/secret`],
  ])("re-checks every hop: a redirect to the internal service as %s is refused", async (_label, target) => {
    for (const status of [301, 302, 303, 307, 308]) {
      const err = await fetchErr(at(`/redirect?status=${status}&to=${encodeURIComponent(target())}`));
      expect(err, String(status)).toMatchObject({ code: "url_not_allowed" });
    }
    expect(internal.hits).toEqual([]);
  });

  it("refuses a redirect to another scheme", async () => {
    for (const to of ["file:///etc/passwd", "gopher://127.0.0.3:70/", "data:image/png;base64,iVBORw0KGgo="]) {
      expect(await fetchErr(at(`/redirect?to=${encodeURIComponent(to)}`), { allowDataUrls: true }), to).toMatchObject({ code: "url_not_allowed" });
    }
  });
});

describe("size, time and type limits", () => {
  it("refuses a declared Content-Length over the cap before reading the body", async () => {
    // The server never sends the body; only a refusal on the header can end this fetch before its 60 s deadline.
    const err = await fetchErr(at("/declared-too-large"), { timeoutMs: 60_000 });
    expect(err).toMatchObject({ code: "fetch_too_large" });
  });

  it("cuts an undeclared stream at the cap", async () => {
    const err = await fetchErr(at("/endless"), { timeoutMs: 60_000 });
    expect(err).toMatchObject({ code: "fetch_too_large" });
  });

  it("one deadline for the whole fetch: no answer, or a body that never ends, is fetch_timeout", async () => {
    expect(await fetchErr(at("/hang"), { timeoutMs: 200 })).toMatchObject({ code: "fetch_timeout" });
    expect(await fetchErr(at("/trickle"), { timeoutMs: 300, maxBytes: 1_000_000 })).toMatchObject({ code: "fetch_timeout" });
  });

  it("the caller's abort is rethrown as the caller's reason", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("job cancelled")), 50);
    const err = await fetchErr(at("/hang"), { signal: ac.signal });
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(OutboundFetchError);
    expect(err!.message).toBe("job cancelled");
  });

  it("checks the content type per call", async () => {
    expect(await fetchErr(at("/html"), { accept: ["image/*"] })).toMatchObject({ code: "unsupported_content_type" });
    expect(await fetchErr(at("/untyped"), { accept: ["image/png"] })).toMatchObject({ code: "unsupported_content_type" });
    expect((await guardedFetch(at("/html"), { policy: guarded, accept: ["text/html"] })).contentType).toBe("text/html");
    expect((await guardedFetch(at("/untyped"), { policy: guarded })).contentType).toBe("");
  });

  it("an error answer is fetch_failed with its status, and the body never reaches the message", async () => {
    const err = await fetchErr(at("/missing?token=s3cr3t"));
    expect(err).toMatchObject({ code: "fetch_failed", status: 404 });
    expect(err!.message).not.toContain(SECRET);
    expect(err!.message).not.toContain("s3cr3t");
  });
});

describe("FETCH_ALLOW_PRIVATE_NETWORKS", () => {
  it("reaches loopback literals when on, never metadata", async () => {
    const got = await guardedFetch(`http://127.0.0.2:${internal.port}/x`, { policy: privateNets });
    expect(got.bytes.toString()).toBe(SECRET);
    // Checked as a pure function: a regression must not be able to send anything to a real metadata address.
    expect(() => checkUrl("http://169.254.169.254/latest/meta-data/", privateNets)).toThrowError(expect.objectContaining({ code: "url_not_allowed" }) as Error);
  });

  it("off by default: the same literal is refused without a connection", async () => {
    const err = await guardedFetch(`http://127.0.0.2:${internal.port}/x`, { policy: { ...privateNets, allowPrivateNetworks: false } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "url_not_allowed" });
    expect(internal.hits).toEqual([]);
  });
});

describe("data: URLs", () => {
  const png = `data:image/png;base64,${PNG.toString("base64")}`;
  it("are decoded only where the caller accepts them, with the same type and size checks", async () => {
    expect(await guardedFetch(png, { policy: guarded, allowDataUrls: true, accept: ["image/*"] })).toEqual({ bytes: PNG, contentType: "image/png" });
    expect(await fetchErr(png)).toMatchObject({ code: "url_not_allowed" });
    expect(await fetchErr("data:text/plain,hello", { allowDataUrls: true, accept: ["image/*"] })).toMatchObject({ code: "unsupported_content_type" });
    expect(await fetchErr("data:,hello", { allowDataUrls: true, accept: ["image/*"] })).toMatchObject({ code: "unsupported_content_type" });
    expect(await fetchErr(`data:image/png;base64,${Buffer.alloc(2048).toString("base64")}`, { allowDataUrls: true })).toMatchObject({ code: "fetch_too_large" });
    expect(await fetchErr("data:image/png;base64", { allowDataUrls: true })).toMatchObject({ code: "url_not_allowed" });
    expect(await fetchErr("data:image/png,%E0%A4%A", { allowDataUrls: true })).toMatchObject({ code: "url_not_allowed" });
  });
});

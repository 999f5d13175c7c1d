// Each SDK method must call the route the spec gives its operationId: calls every mapped method
// against a catch-all msw handler and compares the request's method and path with the spec's.
import { describe, expect, it } from "vitest";
import { operationMethods } from "../src/index.ts";
import { http, HttpResponse, makeClient, server, url, useMsw } from "./helpers.ts";
import { specOperations } from "./spec.ts";

useMsw();

const ID = "0b5c3c1e-8f2a-4d6b-9e7f-1a2b3c4d5e6f";

/** Arguments for methods whose first parameter is not an id or a body/query object. */
const specialArgs: Record<string, unknown[]> = {
  "cards.search": [{ q: "x" }],
  "oauth.authorizeUrl": [{ clientId: "c", redirectUri: "https://app.example/cb", codeChallenge: "x" }],
  "oauth.consentPage": ["pending-1"],
  "oauth.submitConsent": [{ request: "r", csrfToken: "t", decision: "approve", apiKey: "k" }],
  "oauth.exchangeCode": [{ code: "c", codeVerifier: "v", redirectUri: "https://app.example/cb", clientId: "c" }],
  "oauth.revoke": [{ token: "t" }],
  "assets.upload": [new Uint8Array([0x89, 0x50, 0x4e, 0x47]), { contentType: "image/png" }],
};

const pathRegex = (template: string) => new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);

describe("every SDK method calls its spec route", () => {
  const mapped = specOperations.filter((op) => (operationMethods as Record<string, string | null>)[op.id]);

  it.each(mapped)("$id → $method $path", async (op) => {
    const seen: string[] = [];
    server.use(
      http.all(url("/*"), ({ request }) => {
        seen.push(`${request.method} ${new URL(request.url).pathname}`);
        // `url` lets assets.download follow a signed URL; everything else ignores it.
        return HttpResponse.json({ url: url(`/v1/assets/${ID}/content?expires=1&signature=s`), data: [] });
      }),
    );
    const methodPath = (operationMethods as Record<string, string | null>)[op.id]!;
    const client = makeClient({ maxRetries: 0 }) as unknown as Record<string, unknown>;
    const parts = methodPath.split(".");
    const owner = parts.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, client);
    const fn = owner[parts.at(-1)!] as (...a: unknown[]) => unknown;
    const args = specialArgs[methodPath] ?? (op.path.includes("{") ? [ID, {}] : [{}]);

    const result = fn.apply(owner, args);
    if (typeof result === "string") seen.push(`${op.method} ${new URL(result).pathname}`); // URL builders
    else if (result && typeof (result as AsyncGenerator)[Symbol.asyncIterator] === "function" && !("then" in (result as object))) {
      await (result as AsyncGenerator).next(); // streams
    } else await result;

    expect(seen.some((s) => {
      const [m, p] = s.split(" ");
      return m === op.method && pathRegex(op.path).test(p!);
    }), `${methodPath} sent ${JSON.stringify(seen)}`).toBe(true);
  });
});

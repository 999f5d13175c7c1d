/**
 * A server without provider credentials says so everywhere: models and prices are
 * listed as unavailable with the reason, estimates are blocked, and a submission
 * answers 503 provider_not_configured before anything is reserved.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { walletOf } from "./polling.ts";

let srv: TestServer;
let key: string;
beforeAll(async () => {
  srv = await startTestServer({ env: { FAL_KEY: "", ELEVENLABS_API_KEY: "" } });
  ({ key } = await srv.createKey());
});
afterAll(() => srv?.close());

interface Listed {
  provider: string;
  available: boolean;
  unavailable_reason: string | null;
}

describe("a server with no provider keys", () => {
  it("lists fal and ElevenLabs models as unavailable with the reason, local ones as available", async () => {
    const models = ((await (await srv.request("/v1/models", { key })).json()) as { data: Array<Listed & { model_id: string }> }).data;
    const byProvider = (p: string) => models.filter((m) => m.provider === p);
    expect(byProvider("fal").length).toBeGreaterThan(0);
    expect(byProvider("fal").every((m) => !m.available && m.unavailable_reason === "FAL_KEY is not set on this server")).toBe(true);
    expect(byProvider("elevenlabs").every((m) => !m.available && /ELEVENLABS_API_KEY/.test(m.unavailable_reason ?? ""))).toBe(true);
    expect(byProvider("local").every((m) => m.available && m.unavailable_reason === null)).toBe(true);
    const pricing = ((await (await srv.request("/v1/pricing")).json()) as { operations: Listed[] }).operations;
    expect(pricing.filter((o) => o.provider === "fal").every((o) => o.available === false)).toBe(true);
    expect(pricing.filter((o) => o.provider === "local").every((o) => o.available === true)).toBe(true);
  });

  it("estimates report provider_not_configured", async () => {
    const res = await srv.request("/v1/estimate", { method: "POST", key, json: { model: "fal-ai/flux/dev", prompt: "a fox" } });
    const body = (await res.json()) as { would_succeed: boolean; reasons_blocked: string[] };
    expect(body.would_succeed).toBe(false);
    expect(body.reasons_blocked).toContain("provider_not_configured");
  });

  it("submitting to an unconfigured provider answers 503 and reserves nothing", async () => {
    const before = await walletOf(srv, key);
    for (const [path, json] of [
      ["/v1/images/generate", { model: "fal-ai/flux/dev", prompt: "a fox" }],
      ["/v1/audio/generate", { model: "eleven_multilingual_v2", text: "hello" }],
      ["/v1/prisms/cinematic-noir/apply", { image_params: { model: "fal-ai/flux/dev", prompt: "a fox" } }],
    ] as const) {
      const res = await srv.request(path, { method: "POST", key, json });
      const error = ((await res.json()) as { error: { code: string } }).error;
      expect([res.status, error.code], path).toEqual([503, "provider_not_configured"]);
    }
    const after = await walletOf(srv, key);
    expect(after.reserved_micros).toBe(before.reserved_micros);
    expect(after.available_micros).toBe(before.available_micros);
    expect(await srv.runtime.db.prisma.job.count()).toBe(0);
  });
});

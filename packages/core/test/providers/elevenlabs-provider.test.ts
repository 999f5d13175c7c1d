import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BreakerRegistry } from "../../src/providers/circuit-breaker.ts";
import { DEFAULT_VOICE_ID } from "../../src/providers/elevenlabs-provider.ts";
import { createProviders } from "../../src/providers/registry.ts";
import type { ProviderRequest } from "../../src/providers/types.ts";
import { elevenLabsError, elevenLabsHandlers } from "../msw/elevenlabs.ts";
import { entry, fakeContext } from "./fake-context.ts";

const el = elevenLabsHandlers({ expectKey: "xi-test-key" });
const server = setupServer(...el.handlers);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  el.set({ expectKey: "xi-test-key" });
  el.calls.length = 0;
});
afterAll(() => server.close());

const make = (apiKey: string | undefined) => createProviders({ FAL_KEY: undefined, ELEVENLABS_API_KEY: apiKey }, { breakers: new BreakerRegistry() });
const providers = make("xi-test-key");
const v3 = entry("eleven_v3_multilingual");
const req = (input: Record<string, unknown>): ProviderRequest => ({ jobId: "job-a", kind: "audio", model: v3.model, input: { model: v3.model, ...input } });

describe("elevenlabs adapter", () => {
  it("sends the provider model id, the voice and mp3 format; returns audio/mpeg; cost per character", async () => {
    const ctx = fakeContext();
    const text = "Welcome to AERIOX.";
    const result = await providers
      .forEntry(v3)
      .run(req({ text, voice_id: "voice-123", phoneme_overrides: [{ from: "AERIOX", to: "air-ee-ox" }] }), ctx);
    expect(el.calls).toHaveLength(1);
    const call = el.calls[0]!;
    expect(call.voiceId).toBe("voice-123");
    expect(call.outputFormat).toBe("mp3_44100_128");
    expect(call.body).toMatchObject({ text: "Welcome to air-ee-ox.", model_id: "eleven_v3" });
    const out = result.outputs[0]!;
    expect(out.contentType).toBe("audio/mpeg");
    expect(Buffer.from(out.bytes.subarray(0, 3)).toString("ascii")).toBe("ID3");
    // 21 characters after overrides × $0.12 / 1k = 2520 micros.
    expect(result.actualCostMicros).toBe(2520n);
    expect(ctx.progress.at(-1)).toBe(100);
  });

  it("uses the default voice when none is given", async () => {
    await providers.forEntry(v3).run(req({ text: "hi" }), fakeContext());
    expect(el.calls[0]!.voiceId).toBe(DEFAULT_VOICE_ID);
  });

  it.each([
    [422, { kind: "client", retryable: false, providerMessage: "text: text is too long for this model" }],
    [401, { kind: "unavailable", retryable: false }],
    [429, { kind: "server", retryable: true }],
    [500, { kind: "server", retryable: true, providerMessage: "internal_server_error: Something went wrong" }],
  ] as const)("HTTP %d → %o, one call (the SDK does not retry)", async (status, expected) => {
    el.set({ expectKey: "xi-test-key", error: elevenLabsError(status) });
    const err = await providers.forEntry(v3).run(req({ text: "hello" }), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ name: "ProviderError", status, ...expected });
    expect(el.calls).toHaveLength(1);
  });

  it("a wrong key is unavailable and the key never appears in the error", async () => {
    const err = await make("xi-wrong-key").forEntry(v3).run(req({ text: "hello" }), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ kind: "unavailable", status: 401 });
    expect(JSON.stringify({ m: err.message, p: err.providerMessage })).not.toContain("xi-wrong-key");
  });

  it("without ELEVENLABS_API_KEY: unavailable with a clear message", async () => {
    const err = await make(undefined).forEntry(v3).run(req({ text: "hello" }), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ kind: "unavailable", message: expect.stringContaining("ELEVENLABS_API_KEY") });
    expect(el.calls).toHaveLength(0);
  });
});

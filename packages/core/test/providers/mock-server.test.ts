/** The shared msw server other packages' tests use: both providers answer through one server. */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { BreakerRegistry } from "../../src/providers/circuit-breaker.ts";
import { createProviders } from "../../src/providers/registry.ts";
import { providerMockServer } from "../msw/server.ts";
import { entry, fakeContext } from "./fake-context.ts";

const mocks = providerMockServer();
afterEach(() => mocks.reset());
afterAll(() => mocks.close());

const providers = createProviders({ FAL_KEY: "k", ELEVENLABS_API_KEY: "xi" }, { breakers: new BreakerRegistry(), fal: { pollIntervalMs: 1 } });

describe("providerMockServer", () => {
  it("serves fal and ElevenLabs together and counts calls; reset clears them", async () => {
    const img = await providers.forEntry(entry("fal-ai/flux/dev")).run({ jobId: "1", kind: "image", model: "fal-ai/flux/dev", input: { prompt: "p" } }, fakeContext());
    const tts = await providers.forEntry(entry("eleven_multilingual_v2")).run({ jobId: "2", kind: "audio", model: "eleven_multilingual_v2", input: { text: "hello" } }, fakeContext());
    expect(img.outputs[0]!.contentType).toBe("image/png");
    expect(tts.outputs[0]!.contentType).toBe("audio/mpeg");
    expect(mocks.fal.stats.submits).toBe(1);
    expect(mocks.elevenlabs.calls).toHaveLength(1);
    mocks.reset();
    expect(mocks.fal.stats.submits).toBe(0);
    expect(mocks.elevenlabs.calls).toHaveLength(0);
  });

  it("refuses unmocked hosts (onUnhandledRequest: error)", async () => {
    await expect(fetch("https://example.invalid/x")).rejects.toThrow();
  });

  it("input errors shared with pricing reach the engine as client ProviderErrors", async () => {
    const err = await providers
      .forEntry(entry("local/video"))
      .run({ jobId: "3", kind: "video", model: "local/video", input: { prompt: "p", duration_s: 31 } }, fakeContext())
      .catch((e) => e);
    expect(err).toMatchObject({ name: "ProviderError", kind: "client", code: "duration_too_long", retryable: false });
  });
});

/**
 * One msw server with both providers' handlers, for any test that runs jobs end to end:
 *
 *   const mocks = providerMockServer();            // listens with onUnhandledRequest: "error"
 *   afterEach(() => mocks.reset()); afterAll(() => mocks.close());
 *   mocks.fal.set({ nsfw: true }); expect(mocks.fal.stats.submits).toBe(1);
 *
 * Extra handlers (your own APIs) can be passed and are consulted first.
 */
import type { RequestHandler } from "msw";
import { setupServer } from "msw/node";
import { elevenLabsHandlers, type ElevenLabsMock, type ElevenLabsMockOptions } from "./elevenlabs.ts";
import { falHandlers, type FalMock, type FalMockOptions } from "./fal.ts";

export interface ProviderMockServer {
  fal: FalMock;
  elevenlabs: ElevenLabsMock;
  server: ReturnType<typeof setupServer>;
  reset(): void;
  close(): void;
}

export function providerMockServer(o: { fal?: FalMockOptions; elevenlabs?: ElevenLabsMockOptions; extraHandlers?: RequestHandler[] } = {}): ProviderMockServer {
  const fal = falHandlers(o.fal);
  const elevenlabs = elevenLabsHandlers(o.elevenlabs);
  const server = setupServer(...(o.extraHandlers ?? []), ...fal.handlers, ...elevenlabs.handlers);
  server.listen({ onUnhandledRequest: "error" });
  return {
    fal,
    elevenlabs,
    server,
    reset() {
      fal.reset();
      elevenlabs.set(o.elevenlabs ?? {});
      elevenlabs.calls.length = 0;
      elevenlabs.voiceAdds.length = 0;
      elevenlabs.deletedVoices.length = 0;
      server.resetHandlers();
    },
    close: () => server.close(),
  };
}

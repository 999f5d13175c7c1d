/**
 * A heavy SDK loaded on first use: the one place that constructs its client calls
 * `await sdk()`, so a process that never talks to Stripe, fal.ai, ElevenLabs or
 * Voyage never imports them (start-up time and memory; issue #10). `loaded` is the
 * module once an import finished, for synchronous checks such as `instanceof` on an
 * SDK's error classes: an error of an SDK that was never loaded cannot exist.
 * Redis, BullMQ, the AWS SDK and the MCP SDK are loaded by importing the module that
 * uses them only where configured (bootstrap.ts, assets/create-storage.ts, the CLI).
 */
export interface LazyModule<T> {
  (): Promise<T>;
  readonly loaded: T | undefined;
}

export function lazyModule<T>(load: () => Promise<T>): LazyModule<T> {
  let pending: Promise<T> | undefined;
  let loaded: T | undefined;
  const get = () =>
    (pending ??= load().then(
      (module) => (loaded = module),
      (err: unknown) => {
        // A failed import (a missing optional install) is tried again on the next use.
        pending = undefined;
        throw err;
      },
    ));
  return Object.defineProperty(get, "loaded", { get: () => loaded }) as LazyModule<T>;
}

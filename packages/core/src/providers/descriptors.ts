/**
 * The one table of provider facts. Everything per provider derives from it: the catalog's
 * `provider` enum and `PROVIDERS` (pricing/catalog.ts), each call's wall-clock timeout
 * (registry.ts), the BullMQ lane concurrency (jobs/bullmq-queue.ts), the
 * `BREAKER_<PROVIDER>_*` overrides config accepts (config.ts), and the metrics' labels.
 * Adding a provider is one row here plus its adapter.
 *
 * No imports: config.ts and the queues read it without pulling in the domain.
 */
export interface ProviderDescriptor {
  /** Wall-clock limit of one `run` (ms); cancels have their own short one. */
  timeoutMs: number;
  /** Jobs one BullMQ worker process runs at once in the provider's lane, at WORKER_CONCURRENCY 8 (scaled by WORKER_CONCURRENCY / 8). */
  laneConcurrency: number;
}

export const PROVIDER_DESCRIPTORS = {
  // fal video can queue for minutes.
  fal: { timeoutMs: 15 * 60_000, laneConcurrency: 20 },
  elevenlabs: { timeoutMs: 3 * 60_000, laneConcurrency: 10 },
  local: { timeoutMs: 2 * 60_000, laneConcurrency: 4 },
  compose: { timeoutMs: 10 * 60_000, laneConcurrency: 2 },
  // aeriox runs training and prisms itself; a prism over generation params delegates to
  // another provider inside this limit, so it is as long as the longest delegate's.
  aeriox: { timeoutMs: 15 * 60_000, laneConcurrency: 4 },
} as const satisfies Record<string, ProviderDescriptor>;

export type ProviderName = keyof typeof PROVIDER_DESCRIPTORS;

/** Every provider, in the table's order. */
export const PROVIDERS = Object.keys(PROVIDER_DESCRIPTORS) as unknown as readonly [ProviderName, ...ProviderName[]];

/** The descriptor of a provider name, or undefined for a name that is none (a lane or breaker of an unknown provider). */
export function providerDescriptor(name: string): ProviderDescriptor | undefined {
  return Object.hasOwn(PROVIDER_DESCRIPTORS, name) ? PROVIDER_DESCRIPTORS[name as ProviderName] : undefined;
}

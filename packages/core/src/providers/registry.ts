/**
 * Picks the adapter for a catalog entry (by its `provider`) and wraps every call with the
 * provider's wall-clock timeout and circuit breaker. The job engine's only entry point:
 *
 *   const providers = createProviders(config);
 *   if (providers.isCircuitOpen(entry.provider)) → 503 circuit_open
 *   const result = await providers.forEntry(entry).run(req, ctx);
 */
import type { Config } from "../config.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { PROVIDER_DESCRIPTORS, type ProviderName } from "./descriptors.ts";
import type { ProviderAdapter } from "./adapter.ts";
import { BreakerRegistry, type BreakerOptions } from "./circuit-breaker.ts";
import { AerioxProvider } from "./aeriox-provider.ts";
import { ComposeProvider, type ComposeProviderOptions } from "./compose-provider.ts";
import { ElevenLabsProvider, type ElevenLabsProviderOptions } from "./elevenlabs-provider.ts";
import { isApiError } from "../errors.ts";
import { ProviderError } from "./errors.ts";
import { FalProvider, type FalProviderOptions } from "./fal-provider.ts";
import { LocalProvider, type LocalProviderOptions } from "./local-provider.ts";
import { inlineRenderer, type Renderer } from "../media/render-pool.ts";
import type { GenerationProvider, ProviderContext, ProviderRequest } from "./types.ts";
import { outboundPolicyFrom, type OutboundConfig, type OutboundPolicy } from "../net/index.ts";
import type { Metrics } from "../observability/metrics.ts";

/** Per-call wall-clock limits (ms), from the descriptor table; cancel calls are short. */
export const DEFAULT_TIMEOUTS_MS: Readonly<Record<ProviderName, number>> = Object.fromEntries(
  Object.entries(PROVIDER_DESCRIPTORS).map(([name, d]) => [name, d.timeoutMs]),
) as Record<ProviderName, number>;
const CANCEL_TIMEOUT_MS = 30_000;

export interface ProvidersOptions {
  /**
   * The runtime's registry (shared through Redis when configured: createBreakerRegistry). Without
   * one, a registry of this call's own, in-process, from `breakerOptions`.
   */
  breakers?: BreakerRegistry;
  breakerOptions?: BreakerOptions;
  timeoutsMs?: Partial<Record<ProviderName, number>>;
  fal?: Partial<FalProviderOptions>;
  elevenlabs?: Partial<ElevenLabsProviderOptions>;
  local?: LocalProviderOptions;
  compose?: ComposeProviderOptions;
  /**
   * Runs local/image, local/tts and prism pixel work. The runtime passes its worker-thread
   * pool; without one (unit tests) the work runs on the calling thread.
   */
  renderer?: Renderer;
  /** Overrides of the outbound fetch policy read from config (tests inject a resolver here). */
  outbound?: Partial<OutboundPolicy>;
  /** Persists a voice cloned by a training job (the runtime passes characters.ts recordTrainingVoice). */
  recordTrainingVoice?: (jobId: string, voiceId: string) => Promise<void>;
  /** The runtime's metrics: every call counted by outcome and error kind, breakers read on scrape. */
  metrics?: Pick<Metrics, "observeProviderCall" | "readCircuitsFrom">;
}

export interface Providers {
  forEntry(entry: CatalogEntry): GenerationProvider;
  isCircuitOpen(providerName: string): boolean;
  /** Why this deployment cannot run the provider (its key is not configured), or null. */
  unavailableReason(providerName: string): string | null;
}

export function createProviders(config: Pick<Config, "FAL_KEY" | "ELEVENLABS_API_KEY"> & Partial<OutboundConfig>, options: ProvidersOptions = {}): Providers {
  const breakers = options.breakers ?? new BreakerRegistry(options.breakerOptions);
  const outbound: OutboundPolicy = { ...outboundPolicyFrom(config), ...options.outbound };
  const renderer = options.renderer ?? inlineRenderer();
  const fal = new FalProvider({ credentials: config.FAL_KEY, outbound, ...options.fal });
  const elevenlabs = new ElevenLabsProvider({ apiKey: config.ELEVENLABS_API_KEY, ...options.elevenlabs });
  const adapters: Partial<Record<ProviderName, ProviderAdapter>> = {
    local: new LocalProvider(options.local, renderer),
    compose: new ComposeProvider(options.compose),
    fal,
    elevenlabs,
  };
  // Training and prisms; prism generations delegate back through this registry (breakers, timeouts).
  // Character training uses fal's LoRA trainer and ElevenLabs' voice cloning directly.
  adapters.aeriox = new AerioxProvider({
    delegate: (entry) => providers.forEntry(entry),
    outbound,
    renderer,
    loraTrainer: fal,
    voices: elevenlabs,
    ...(options.recordTrainingVoice ? { recordTrainingVoice: options.recordTrainingVoice } : {}),
  });
  const timeoutOf = (name: ProviderName) => options.timeoutsMs?.[name] ?? DEFAULT_TIMEOUTS_MS[name];
  const observed = <T>(name: string, call: Promise<T>): Promise<T> => options.metrics?.observeProviderCall(name, call) ?? call;
  options.metrics?.readCircuitsFrom((name) => breakers.breakerFor(name).state);

  const providers: Providers = {
    // The local view of the shared state: no I/O on the submit path (circuit-breaker.ts).
    isCircuitOpen: (name) => breakers.breakerFor(name).isOpen(),
    unavailableReason: (name) => adapters[name as ProviderName]?.unavailableReason?.() ?? null,
    forEntry(entry) {
      const adapter = adapters[entry.provider];
      if (!adapter) return unsupported(entry);
      const breaker = breakers.breakerFor(adapter.name);
      return {
        name: adapter.name,
        run: (req: ProviderRequest, ctx: ProviderContext) =>
          observed(
            adapter.name,
            breaker.exec(() =>
              adapter
                .run(req, { ...ctx, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutOf(entry.provider))]) }, entry)
                .catch((err: unknown) => Promise.reject(asProviderError(err))),
            ),
          ),
        // Cancels bypass the breaker: stopping paid work matters most when things go wrong.
        cancel: (requestId: string, req: ProviderRequest) => withTimeout(adapter.cancel(requestId, req, entry), CANCEL_TIMEOUT_MS, adapter.name),
      };
    },
  };
  return providers;
}

/** A catalog entry whose provider has no adapter. */
function unsupported(entry: CatalogEntry): GenerationProvider {
  const error = () =>
    new ProviderError("unavailable", `Operation ${entry.operationId} has no generation provider (provider "${entry.provider}" is handled by the engine)`, {
      retryable: false,
      code: "unsupported_operation",
    });
  return { name: entry.provider, run: async () => Promise.reject(error()), cancel: async () => undefined };
}

function withTimeout<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  let t: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new ProviderError("timeout", `${name} cancel did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Input checks shared with pricing throw ApiError (400); to the engine they are client failures. */
function asProviderError(err: unknown): unknown {
  if (isApiError(err)) return new ProviderError("client", err.message, { code: err.code, status: err.status, cause: err });
  return err;
}

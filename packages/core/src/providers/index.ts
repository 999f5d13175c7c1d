export * from "./types.ts";
export * from "./errors.ts";
export { CircuitBreaker, BreakerRegistry, createBreakerRegistry, type BreakerOptions, type BreakerPolicy, type BreakerState, type BreakerStore } from "./circuit-breaker.ts";
export { createProviders, DEFAULT_TIMEOUTS_MS, type Providers, type ProvidersOptions } from "./registry.ts";
export { applyPhonemeOverrides, countCharacters, TTS_MAX_EXPANDED_CHARACTERS, type PhonemeOverride } from "./phonemes.ts";
export { DEFAULT_VOICE_ID } from "./elevenlabs-provider.ts";

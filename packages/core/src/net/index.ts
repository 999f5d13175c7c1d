/** Outbound fetches: docs/ARCHITECTURE.md, Access → Outbound fetches. */
import type { Config } from "../config.ts";
import type { OutboundPolicy } from "./guarded-fetch.ts";

export { classifyAddress, isBlockedHostname, type AddressPolicy, type AddressVerdict } from "./address-policy.ts";
export {
  MAX_REDIRECTS,
  OutboundFetchError,
  checkUrl,
  guardedFetch,
  isOutboundFetchError,
  systemResolver,
  type FetchedBody,
  type GuardedFetchOptions,
  type OutboundFetchErrorCode,
  type OutboundPolicy,
  type Resolver,
} from "./guarded-fetch.ts";

export type OutboundConfig = Pick<Config, "FETCH_ALLOW_PRIVATE_NETWORKS" | "FETCH_TIMEOUT_MS" | "FETCH_MAX_BYTES">;

/** Defaults when a caller builds providers without a full config (tests, scripts): public addresses only. */
export const DEFAULT_OUTBOUND_POLICY: OutboundPolicy = { allowPrivateNetworks: false, timeoutMs: 10_000, maxBytes: 10 * 1024 * 1024 };

export function outboundPolicyFrom(config: Partial<OutboundConfig>): OutboundPolicy {
  return {
    allowPrivateNetworks: config.FETCH_ALLOW_PRIVATE_NETWORKS ?? DEFAULT_OUTBOUND_POLICY.allowPrivateNetworks,
    timeoutMs: config.FETCH_TIMEOUT_MS ?? DEFAULT_OUTBOUND_POLICY.timeoutMs,
    maxBytes: config.FETCH_MAX_BYTES ?? DEFAULT_OUTBOUND_POLICY.maxBytes,
  };
}

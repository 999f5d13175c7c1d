/** Whether this deployment can run a catalog entry's provider (`/v1/models` and `/v1/pricing` both say so). */
import type { Providers } from "../providers/registry.ts";

export function availabilityOf(providers: Pick<Providers, "unavailableReason">, provider: string): { available: boolean; unavailable_reason: string | null } {
  const reason = providers.unavailableReason(provider);
  return { available: reason === null, unavailable_reason: reason };
}

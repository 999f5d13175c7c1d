/**
 * Money is integer USD micros (1 USD = 1_000_000) as bigint everywhere in code and storage.
 * `*_usd` numbers exist only at the edges (responses, request parsing).
 */
export const MICROS_PER_USD = 1_000_000n;

export function microsToUsd(micros: bigint): number {
  return Number(micros) / 1_000_000;
}

/** Parses a USD amount from a request; refuses fractions of a micro, negatives and non-finite numbers. */
export function usdToMicros(usd: number): bigint {
  if (!Number.isFinite(usd)) throw new RangeError("amount must be a finite number");
  const micros = Math.round(usd * 1_000_000);
  if (Math.abs(micros - usd * 1_000_000) > 1e-6 * Math.max(1, Math.abs(usd))) {
    throw new RangeError("amount has more precision than one micro-dollar");
  }
  if (!Number.isSafeInteger(micros)) throw new RangeError("amount is too large");
  return BigInt(micros);
}

/** Legacy "credits" (deprecated endpoints, estimate): 1 credit = 1 US cent. */
export const MICROS_PER_CREDIT = 10_000n;

export function microsToCredits(micros: bigint): number {
  return Number(micros) / Number(MICROS_PER_CREDIT);
}

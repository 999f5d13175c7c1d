/**
 * Money is integer USD micros (1 USD = 1_000_000) as bigint everywhere in code and storage.
 * `*_usd` numbers exist only at the edges (responses, request parsing).
 */
import { ApiError } from "./errors.ts";

export const MICROS_PER_USD = 1_000_000n;

export function microsToUsd(micros: bigint): number {
  return Number(micros) / 1_000_000;
}

const SHORTEST_DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;
const MICRO_DECIMALS = 6;

function refuseAmount(field: string, message: string): ApiError {
  return ApiError.badRequest("invalid_request", `${field} ${message}`, { fields: [{ field, message }] });
}

/**
 * A USD amount from a request as integer micros, exactly: the number is read as the
 * decimal it was written as (its shortest round-trip form, ECMAScript Number::toString),
 * never multiplied as a float, so `1.0000001` (7 decimals) and `1e-9` are refused rather
 * than rounded. Refusals are 400 naming `field`; the sign is the caller's to check.
 */
export function usdToMicros(usd: number, field = "amount_usd"): bigint {
  if (typeof usd !== "number" || !Number.isFinite(usd)) throw refuseAmount(field, "must be a finite number");
  const parts = SHORTEST_DECIMAL.exec(String(usd));
  if (!parts) throw refuseAmount(field, "must be a decimal number");
  const [, sign, whole, fraction = "", exponent = "0"] = parts;
  let digits = BigInt(whole! + fraction);
  let scale = fraction.length - Number(exponent);
  while (scale > MICRO_DECIMALS && digits % 10n === 0n) {
    digits /= 10n;
    scale -= 1;
  }
  if (scale > MICRO_DECIMALS) throw refuseAmount(field, `must have at most ${MICRO_DECIMALS} decimal places (whole micro-dollars)`);
  const micros = digits * 10n ** BigInt(MICRO_DECIMALS - scale);
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw refuseAmount(field, "is too large");
  return sign === "-" ? -micros : micros;
}

/** Legacy "credits" (deprecated endpoints, estimate): 1 credit = 1 US cent. */
export const MICROS_PER_CREDIT = 10_000n;

export function microsToCredits(micros: bigint): number {
  return Number(micros) / Number(MICROS_PER_CREDIT);
}

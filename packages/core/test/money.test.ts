/** USD amounts are read as the decimals they were written as, never as float products (ARCHITECTURE.md, Money). */
import { describe, expect, it } from "vitest";
import { isApiError } from "../src/errors.ts";
import { usdToMicros } from "../src/money.ts";

function refusal(usd: number, field = "body.amount_usd") {
  try {
    usdToMicros(usd, field);
  } catch (err) {
    if (!isApiError(err)) throw err;
    return { status: err.status, code: err.code, fields: (err.details as { fields: Array<{ field: string }> }).fields.map((f) => f.field) };
  }
  throw new Error(`${usd} was accepted`);
}

describe("usdToMicros", () => {
  it("reads whole micro-dollars exactly, including values float multiplication gets wrong", () => {
    expect(usdToMicros(1.1)).toBe(1_100_000n); // 1.1 * 1e6 === 1100000.0000000002
    expect(usdToMicros(0.29)).toBe(290_000n); // 0.29 * 1e6 === 290000.00000000006
    expect(usdToMicros(0.000001)).toBe(1n);
    expect(usdToMicros(99999.999999)).toBe(99_999_999_999n);
    expect(usdToMicros(5)).toBe(5_000_000n);
    expect(usdToMicros(1e3)).toBe(1_000_000_000n);
    expect(usdToMicros(-2.5)).toBe(-2_500_000n);
    expect(usdToMicros(0)).toBe(0n);
  });

  it("refuses a fraction of a micro-dollar with 400 naming the field", () => {
    for (const usd of [1e-9, 1.0000001, 0.1234567, 1e-7, 123456.0000001]) {
      expect(refusal(usd, "body.threshold_usd")).toEqual({ status: 400, code: "invalid_request", fields: ["body.threshold_usd"] });
    }
  });

  it("refuses non-finite and unsafe magnitudes with 400", () => {
    for (const usd of [Number.NaN, Number.POSITIVE_INFINITY, 1e300, 2 ** 53]) expect(refusal(usd).status).toBe(400);
  });
});

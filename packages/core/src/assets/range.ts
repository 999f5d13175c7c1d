/**
 * A download's `Range` header (RFC 9110 §14) resolved against the asset's size.
 * We honour one `bytes=` range (`a-b`, `a-`, `-n`); a header we do not serve
 * (another unit, several ranges, a malformed spec) is ignored as the RFC allows,
 * and the whole asset is sent. Only a well-formed range that starts past the end
 * is unsatisfiable (416).
 */
import type { ByteRange } from "./storage.ts";

export type RangeResolution = { kind: "full" } | { kind: "partial"; range: ByteRange } | { kind: "unsatisfiable" };

// 15 digits stay exact in a double and exceed any object a store holds.
const SINGLE = /^bytes=\s*(\d{0,15})\s*-\s*(\d{0,15})\s*$/i;

export function resolveRange(header: string | undefined, size: number): RangeResolution {
  if (!header) return { kind: "full" };
  const m = SINGLE.exec(header.trim());
  if (!m) return { kind: "full" };
  const [, first = "", last = ""] = m;
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    // Suffix: the last n bytes (all of them when n exceeds the size).
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", range: { start: Math.max(0, size - n), end: size - 1 } };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return { kind: "full" }; // invalid range-spec: ignore the header
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: "partial", range: { start, end } };
}

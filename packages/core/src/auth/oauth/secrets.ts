/**
 * Opaque OAuth secrets (authorization codes, refresh tokens, CSRF tokens): 32 random
 * bytes, base64url, with a recognisable prefix. Only their SHA-256 is stored.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const CODE_PREFIX = "ac_";
/** The logger redacts `rt_…` shapes anywhere in a message. */
export const REFRESH_TOKEN_PREFIX = "rt_";

export function newSecret(prefix = ""): string {
  return prefix + randomBytes(32).toString("base64url");
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

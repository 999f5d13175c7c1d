/** PKCE (RFC 7636), S256 only: challenge = base64url(SHA-256(verifier)). */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * RFC 7636 §4.2 gives the challenge the verifier's alphabet and length (43–128
 * unreserved characters); a S256 challenge is 43 of them, base64url without padding,
 * and one that is not simply never matches a verifier.
 */
const CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;
/** RFC 7636 §4.1: 43–128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function isValidCodeChallenge(challenge: string): boolean {
  return CHALLENGE.test(challenge);
}

export function isValidCodeVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

export function s256Challenge(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

/** Constant-time comparison of the verifier's S256 challenge with the stored one. */
export function verifierMatchesChallenge(verifier: string, challenge: string): boolean {
  if (!isValidCodeVerifier(verifier)) return false;
  const a = Buffer.from(s256Challenge(verifier));
  const b = Buffer.from(challenge);
  return a.length === b.length && timingSafeEqual(a, b);
}

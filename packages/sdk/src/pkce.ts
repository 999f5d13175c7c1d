// OAuth 2.0 PKCE (RFC 7636, S256 only) with WebCrypto: works in browsers, workers, Node ≥ 20, Deno, Bun.

export interface PkcePair {
  /** Keep secret (e.g. sessionStorage) until the code exchange. */
  verifier: string;
  challenge: string;
  method: "S256";
}

export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** challenge = base64url(SHA-256(verifier)) */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** A fresh verifier (32 random bytes → 43 base64url chars, within RFC 7636's 43–128) and its S256 challenge. */
export async function createPkcePair(): Promise<PkcePair> {
  const verifier = base64url(globalThis.crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: await pkceChallenge(verifier), method: "S256" };
}

/** A random `state` value for CSRF protection of the redirect. */
export function randomState(): string {
  return base64url(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * Asset downloads are absolute, time-limited URLs signed with HMAC-SHA256:
 * `/v1/assets/{id}/content?expires=<unix s>&signature=<base64url>`. Anyone holding
 * the URL can fetch the bytes until it expires; a changed id, expiry or signature → 403.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ApiError } from "../errors.ts";

export interface UrlSigner {
  sign(assetId: string, now?: number): { url: string; expiresAt: Date };
  verify(assetId: string, expires: number, signature: string, now?: number): void;
}

/** ASSET_URL_SECRET, or a secret generated once and kept in DATA_DIR (0600). */
export function loadSigningSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, "asset-url-secret");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString("base64url");
    try {
      writeFileSync(file, secret, { mode: 0o600, flag: "wx" });
      return secret;
    } catch {
      return readFileSync(file, "utf8").trim(); // another process created it first
    }
  }
}

/** `publicUrl` may be a getter: a server on an ephemeral port learns its URL only after it listens. */
export function createUrlSigner(options: { secret: string; publicUrl: string | (() => string); ttlSeconds: number }): UrlSigner {
  const base = typeof options.publicUrl === "function" ? options.publicUrl : () => options.publicUrl as string;
  const mac = (assetId: string, expires: number) => createHmac("sha256", options.secret).update(`${assetId}.${expires}`).digest("base64url");
  return {
    sign(assetId, now = Date.now()) {
      const expires = Math.floor(now / 1000) + options.ttlSeconds;
      const url = `${base()}/v1/assets/${assetId}/content?expires=${expires}&signature=${mac(assetId, expires)}`;
      return { url, expiresAt: new Date(expires * 1000) };
    },
    verify(assetId, expires, signature, now = Date.now()) {
      const expected = Buffer.from(mac(assetId, expires));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        throw ApiError.forbidden("invalid_signature", "The download URL's signature is not valid");
      }
      if (expires * 1000 <= now) throw ApiError.forbidden("url_expired", "The download URL has expired; fetch the asset again for a fresh one");
    },
  };
}

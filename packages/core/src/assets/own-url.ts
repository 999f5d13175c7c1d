/**
 * Our own asset URLs, recognised so that a server-side read of one goes to the asset store
 * (workspace-scoped, like an `asset_id`) instead of the network: `aeriox-asset://<id>` and
 * `<PUBLIC_URL>/v1/assets/<id>/content?…` (a signed download URL, as `GET /v1/assets/{id}`
 * and uploads return it) or `<PUBLIC_URL>/v1/assets/<id>`. Anything else is a caller's URL
 * and goes through the guarded fetcher.
 */
import { UUID_SOURCE } from "../ids.ts";

const SCHEME_RE = new RegExp(`^aeriox-asset://(${UUID_SOURCE})$`, "i");
const PATH_RE = new RegExp(`^/v1/assets/(${UUID_SOURCE})(?:/content)?$`, "i");

export function ownAssetIdOf(url: string, publicUrl: string): string | null {
  const scheme = SCHEME_RE.exec(url);
  if (scheme) return scheme[1]!.toLowerCase();
  let parsed: URL;
  let base: URL;
  try {
    parsed = new URL(url);
    base = new URL(publicUrl);
  } catch {
    return null;
  }
  if (parsed.origin !== base.origin || parsed.username || parsed.password) return null;
  const basePath = base.pathname.replace(/\/+$/, "");
  if (basePath && !parsed.pathname.startsWith(`${basePath}/`)) return null;
  const match = PATH_RE.exec(parsed.pathname.slice(basePath.length));
  return match ? match[1]!.toLowerCase() : null;
}

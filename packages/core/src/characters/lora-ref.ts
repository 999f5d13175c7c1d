/**
 * A character's `lora_url`: `aeriox-asset://<asset_id>`, a stable reference to the stored
 * training artifact (a signed download URL would expire). Fetch the bytes with
 * `GET /v1/assets/{asset_id}` (fresh signed URL) or, in a provider, `ctx.readAsset(id)`.
 */
export const LORA_URL_SCHEME = "aeriox-asset://";
export const loraUrlFor = (assetId: string): string => `${LORA_URL_SCHEME}${assetId}`;
export function assetIdOfLoraUrl(url: string): string | null {
  return url.startsWith(LORA_URL_SCHEME) ? url.slice(LORA_URL_SCHEME.length) : null;
}

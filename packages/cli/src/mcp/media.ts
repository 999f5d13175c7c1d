/**
 * The media of a finished job as MCP content, so an agent sees what it made: small images
 * and audio inline (`image` / `audio` blocks, base64 + mimeType, at most
 * `INLINE_MEDIA_MAX_BYTES` each), anything larger, video and other files as a
 * `resource_link` to the signed download URL. Also the bytes behind the
 * `aeriox://assets/{id}` resource. Metadata (type, size) comes from `GET /v1/assets/{id}`
 * first, so a large file is never downloaded to be refused.
 */
import type { Aeriox, GetAssetResponse, Job } from "@aeriox/sdk";
import type { ContentBlock } from "@modelcontextprotocol/sdk/types.js";

/** Largest image or audio file returned inline (1 MiB: ~1.4 MB of base64 in the client's context). */
export const INLINE_MEDIA_MAX_BYTES = 1024 * 1024;
/** At most this many outputs of one job are attached (the JSON text lists them all). */
export const MAX_ATTACHED_OUTPUTS = 4;

export const assetUri = (id: string) => `aeriox://assets/${id}`;
export const jobUri = (id: string) => `aeriox://jobs/${id}`;

/**
 * The signed download path on the API this server talks to: signed URLs carry PUBLIC_URL,
 * which the MCP server (often on the same host) may not reach; the signature covers the
 * path and query only.
 */
export function localDownloadUrl(signedUrl: string, baseUrl: string): string {
  const url = new URL(signedUrl);
  const at = url.pathname.indexOf("/v1/assets/");
  if (at < 0) return signedUrl;
  return new URL(url.pathname.slice(at) + url.search, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).toString();
}

/** The asset's bytes, or null when they are larger than `max` or cannot be read. */
export async function readAssetBytes(asset: GetAssetResponse, baseUrl: string, max = INLINE_MEDIA_MAX_BYTES): Promise<Uint8Array | null> {
  if (asset.size_bytes > max) return null;
  try {
    const res = await fetch(localDownloadUrl(asset.url, baseUrl), { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > max) {
      await res.body?.cancel();
      return null;
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    return bytes.length > max ? null : bytes;
  } catch {
    return null;
  }
}

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "audio/wav": "wav", "audio/mpeg": "mp3", "video/mp4": "mp4" };

function inlineKind(contentType: string): "image" | "audio" | null {
  if (contentType.startsWith("image/")) return "image";
  if (contentType.startsWith("audio/")) return "audio";
  return null;
}

/** Content blocks for a completed job's outputs (none for other jobs); an output that cannot be described is left to the JSON text. */
export async function jobMediaContent(client: Aeriox, baseUrl: string, job: Job): Promise<ContentBlock[]> {
  if (job.status !== "completed" || !job.asset_ids?.length) return [];
  const blocks: ContentBlock[] = [];
  for (const [i, id] of job.asset_ids.slice(0, MAX_ATTACHED_OUTPUTS).entries()) {
    let asset: GetAssetResponse;
    try {
      asset = await client.assets.get(id);
    } catch {
      continue;
    }
    const mimeType = asset.content_type.split(";")[0]!.trim();
    const kind = inlineKind(mimeType);
    const bytes = kind ? await readAssetBytes(asset, baseUrl) : null;
    if (kind && bytes) {
      blocks.push({ type: kind, data: Buffer.from(bytes).toString("base64"), mimeType });
      continue;
    }
    blocks.push({
      type: "resource_link",
      uri: asset.url,
      name: `${job.type}-${job.job_id.slice(0, 8)}-${i}.${EXTENSIONS[mimeType] ?? "bin"}`,
      mimeType,
      size: asset.size_bytes,
      description: `Output ${i + 1} of job ${job.job_id} (${asset.size_bytes} bytes; signed URL valid until ${asset.url_expires_at}; a fresh one from get_asset or ${assetUri(id)})`,
    });
  }
  return blocks;
}

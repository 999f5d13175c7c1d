/**
 * What a signed download answers (the signature is checked by the caller): the
 * bytes from the store, a single byte range of them (206), or with
 * S3_PRESIGNED_DOWNLOADS a redirect to a short-lived presigned URL on the bucket,
 * so the bytes do not pass through the API.
 */
import type { Readable } from "node:stream";
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import { resolveRange } from "./range.ts";
import { AssetStoreUnavailableError, StoredObjectMissingError } from "./storage.ts";

type DownloadServices = Pick<Runtime, "db" | "storage" | "config" | "logger">;

/** Long enough to follow a redirect, short enough that a leaked URL is soon useless; never longer than our own signed URLs. */
export const PRESIGNED_URL_SECONDS = 300;

/** What a client waits before retrying when the store did not answer (the SDK has already retried). */
const STORE_RETRY_AFTER_SECONDS = 5;

export type AssetDownload =
  | { kind: "redirect"; location: string; headers: Record<string, string> }
  | { kind: "bytes"; status: 200 | 206; stream: Readable; headers: Record<string, string> };

export interface DownloadRequest {
  range?: string | undefined;
  ifRange?: string | undefined;
}

export async function openAssetDownload(services: DownloadServices, assetId: string, request: DownloadRequest = {}): Promise<AssetDownload> {
  const asset = await services.db.prisma.asset.findUnique({ where: { id: assetId } });
  if (!asset) throw ApiError.notFound("Asset");
  const key = asset.storageKey;
  const missing = (err: unknown): never => {
    if (err instanceof StoredObjectMissingError) {
      // The row outlived its bytes: lost data or a store switched without copying. The operator must hear of it.
      services.logger.warn({ assetId, storageKey: key, store: services.storage.kind }, "asset object missing from the store");
      throw new ApiError(404, "not_found", "Asset content not found in the asset store");
    }
    if (err instanceof AssetStoreUnavailableError) {
      services.logger.warn({ err: err.cause, assetId, store: services.storage.kind }, "asset store unavailable");
      throw new ApiError(503, "asset_store_unavailable", "The asset store is not answering; retry shortly", undefined, { "retry-after": String(STORE_RETRY_AFTER_SECONDS) });
    }
    throw err;
  };

  if (services.config.S3_PRESIGNED_DOWNLOADS && services.storage.presignedGetUrl) {
    // Checked first so a missing object is our 404 in the Error shape, not the bucket's XML.
    await services.storage.size(key).catch(missing);
    const expiresInSeconds = Math.min(PRESIGNED_URL_SECONDS, services.config.ASSET_URL_TTL_SECONDS);
    const location = await services.storage.presignedGetUrl(key, { expiresInSeconds, contentType: asset.contentType, filename: asset.id });
    return { kind: "redirect", location, headers: { "Cache-Control": "no-store" } };
  }

  const size = Number(asset.sizeBytes);
  // We send no validators (ETag, Last-Modified), so no If-Range can match: send the whole asset, as RFC 9110 §13.1.5 says.
  const wanted = request.ifRange === undefined ? resolveRange(request.range, size) : ({ kind: "full" } as const);
  if (wanted.kind === "unsatisfiable") {
    throw new ApiError(416, "range_not_satisfiable", `The requested range is outside the asset's ${size} bytes`, { size_bytes: size }, { "content-range": `bytes */${size}` });
  }
  const range = wanted.kind === "partial" ? wanted.range : undefined;
  const { stream, size: stored } = await services.storage.stream(key, range).catch(missing);
  const headers: Record<string, string> = {
    "Content-Type": asset.contentType,
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, max-age=300",
    "Content-Disposition": `inline; filename="${asset.id}"`,
  };
  if (!range) return { kind: "bytes", status: 200, stream, headers: { ...headers, "Content-Length": String(stored) } };
  return {
    kind: "bytes",
    status: 206,
    stream,
    headers: { ...headers, "Content-Length": String(range.end - range.start + 1), "Content-Range": `bytes ${range.start}-${range.end}/${stored}` },
  };
}

/**
 * Workspace assets: the stored outputs of jobs, addressable by id (as `asset_id`
 * in compose and prisms) and downloadable through signed URLs.
 */
import { randomUUID } from "node:crypto";
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import { ProviderError } from "../providers/errors.ts";
import type { ProviderOutput } from "../providers/types.ts";
import { AssetStoreUnavailableError, StoredObjectMissingError } from "./storage.ts";

type AssetServices = Pick<Runtime, "db" | "storage">;

const EXTENSION: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "video/mp4": "mp4",
  "video/webm": "webm",
  "audio/wav": "wav",
  "audio/mpeg": "mp3",
};

export function extensionFor(contentType: string): string {
  return EXTENSION[contentType] ?? "bin";
}

/** Writes each output to storage, records it as an asset of the job's workspace, and lists them on the job. */
export async function storeJobOutputs(services: AssetServices, job: { id: string; workspaceId: string }, outputs: ProviderOutput[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [index, output] of outputs.entries()) {
    const id = randomUUID();
    const storageKey = `${job.workspaceId}/${job.id}/${index}-${id}.${extensionFor(output.contentType)}`;
    // The content type travels with the object so a presigned download (S3) serves it right.
    await services.storage.put(storageKey, output.bytes, output.contentType);
    await services.db.prisma.asset.create({
      data: {
        id,
        workspaceId: job.workspaceId,
        jobId: job.id,
        contentType: output.contentType,
        storageKey,
        sizeBytes: BigInt(output.bytes.byteLength),
        width: output.width ?? null,
        height: output.height ?? null,
        durationS: output.durationS ?? null,
      },
    });
    ids.push(id);
  }
  await services.db.prisma.job.update({ where: { id: job.id }, data: { outputAssetIds: ids } });
  return ids;
}

/** Another workspace's asset is indistinguishable from a missing one. */
export async function findWorkspaceAsset(services: Pick<Runtime, "db">, workspaceId: string, assetId: string) {
  const asset = await services.db.prisma.asset.findFirst({ where: { id: assetId, workspaceId } });
  if (!asset) throw ApiError.notFound("Asset");
  return asset;
}

/** For providers (compose, prisms): bytes of an asset in the job's workspace. */
export async function readWorkspaceAsset(services: AssetServices, workspaceId: string, assetId: string): Promise<{ bytes: Uint8Array; contentType: string }> {
  const asset = await services.db.prisma.asset.findFirst({ where: { id: assetId, workspaceId } });
  if (!asset) throw new ProviderError("client", `Asset ${assetId} not found in this workspace`, { code: "asset_not_found" });
  try {
    return { bytes: await services.storage.read(asset.storageKey), contentType: asset.contentType };
  } catch (err) {
    if (err instanceof StoredObjectMissingError) throw new ProviderError("client", `Asset ${assetId} has no content in the asset store`, { code: "asset_not_found" });
    if (err instanceof AssetStoreUnavailableError) throw new ProviderError("server", `The asset store did not answer for asset ${assetId}`, { code: "asset_store_unavailable", cause: err });
    throw err;
  }
}

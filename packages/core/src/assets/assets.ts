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

/** An output whose bytes are in the store, not yet recorded: the row `recordJobAssets` (or the worker's completion) writes. */
export interface StoredOutput {
  id: string;
  storageKey: string;
  contentType: string;
  sizeBytes: bigint;
  width: number | null;
  height: number | null;
  durationS: number | null;
}

/** Writes each output's bytes to storage under a key of its own; records nothing in the database. */
export async function putJobOutputs(services: Pick<Runtime, "storage">, job: { id: string; workspaceId: string }, outputs: ProviderOutput[]): Promise<StoredOutput[]> {
  const stored: StoredOutput[] = [];
  for (const [index, output] of outputs.entries()) {
    const id = randomUUID();
    const storageKey = `${job.workspaceId}/${job.id}/${index}-${id}.${extensionFor(output.contentType)}`;
    // The content type travels with the object so a presigned download (S3) serves it right.
    await services.storage.put(storageKey, output.bytes, output.contentType);
    stored.push({ id, storageKey, contentType: output.contentType, sizeBytes: BigInt(output.bytes.byteLength), width: output.width ?? null, height: output.height ?? null, durationS: output.durationS ?? null });
  }
  return stored;
}

/** Records stored outputs as assets of the job's workspace and lists them on the job. */
export async function recordJobAssets(services: Pick<Runtime, "db">, job: { id: string; workspaceId: string }, stored: StoredOutput[]): Promise<string[]> {
  for (const asset of stored) {
    await services.db.prisma.asset.create({ data: { ...asset, workspaceId: job.workspaceId, jobId: job.id } });
  }
  const ids = stored.map((a) => a.id);
  await services.db.prisma.job.update({ where: { id: job.id }, data: { outputAssetIds: ids } });
  return ids;
}

/** Writes each output to storage, records it as an asset of the job's workspace, and lists them on the job. */
export async function storeJobOutputs(services: AssetServices, job: { id: string; workspaceId: string }, outputs: ProviderOutput[]): Promise<string[]> {
  return recordJobAssets(services, job, await putJobOutputs(services, job, outputs));
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

/** The asset store a deployment's config names (ASSET_STORE), created once by the runtime. */
import path from "node:path";
import type { Config } from "../config.ts";
import { createLocalAssetStorage, type AssetStorage } from "./storage.ts";

export async function createAssetStorage(config: Config): Promise<AssetStorage> {
  if (config.ASSET_STORE === "s3") {
    // Loaded only when used: the AWS SDK is large, and most CLI commands and local deployments never need it.
    const { createS3AssetStorage } = await import("./s3-storage.ts");
    // loadConfig refuses ASSET_STORE=s3 without S3_BUCKET.
    return createS3AssetStorage({ bucket: config.S3_BUCKET!, region: config.S3_REGION, endpoint: config.S3_ENDPOINT, forcePathStyle: config.S3_FORCE_PATH_STYLE });
  }
  return createLocalAssetStorage(path.join(config.dataDir, "assets"));
}

/** The asset store a deployment's config names (ASSET_STORE), created once by the runtime. */
import path from "node:path";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { createLocalAssetStorage, type AssetStorage } from "./storage.ts";

export async function createAssetStorage(config: Config, logger: Logger): Promise<AssetStorage> {
  if (config.ASSET_STORE === "s3") {
    // A shared bucket is for several processes; a download URL signed by one verifies on another only with the same secret.
    if (!config.ASSET_URL_SECRET) {
      logger.warn("ASSET_STORE=s3 without ASSET_URL_SECRET: download URLs signed here verify only on processes sharing this DATA_DIR; set the same ASSET_URL_SECRET on every API server");
    }
    // Loaded only when used: the AWS SDK is large, and most CLI commands and local deployments never need it.
    const { createS3AssetStorage } = await import("./s3-storage.ts");
    // loadConfig refuses ASSET_STORE=s3 without S3_BUCKET.
    return createS3AssetStorage({ bucket: config.S3_BUCKET!, region: config.S3_REGION, endpoint: config.S3_ENDPOINT, forcePathStyle: config.S3_FORCE_PATH_STYLE });
  }
  return createLocalAssetStorage(path.join(config.dataDir, "assets"));
}

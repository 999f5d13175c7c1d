// The public surface of assets (`@aeriox/core/assets`): storage, upload and download, signed URLs.
export * from "./assets.ts";
export * from "./delete.ts";
export * from "./download.ts";
export * from "./list.ts";
export * from "./upload.ts";
// The S3 store is `@aeriox/core/assets/s3` (s3-storage.ts), loaded only with ASSET_STORE=s3 (create-storage.ts).
export * from "./signed-urls.ts";

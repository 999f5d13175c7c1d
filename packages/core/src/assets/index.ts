// The public surface of assets (`@aeriox/core/assets`): storage, upload and download, signed URLs.
export * from "./assets.ts";
export * from "./delete.ts";
export * from "./download.ts";
export * from "./list.ts";
export * from "./upload.ts";
export * from "./s3-storage.ts";
export * from "./signed-urls.ts";

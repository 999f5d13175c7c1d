export { createApp, type AppOptions } from "./app.ts";
export { startServer, type RunningServer } from "./serve.ts";
export { loadSpec, SPEC_PATH } from "./spec.ts";
export { unimplementedOperations } from "./http/router.ts";
export { handlers } from "./handlers/index.ts";
export { ADMIN_FILE } from "./admin/channel.ts";
export { protectedResourceMetadata, PROTECTED_RESOURCE_METADATA_PATH } from "./http/oauth-discovery.ts";

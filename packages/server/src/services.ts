/** What the HTTP layer needs from the runtime (database, config, logger, domain services). */
export type { Runtime as AppServices } from "@aeriox/core/runtime";

/**
 * Files that ship beside the code: the spec, the SQL migrations, the catalog data.
 * In the workspace they are read from their repository paths; the published CLI
 * bundle sets `globalThis.__AERIOX_RESOURCES__` to its own `resources/` folder,
 * which holds the same files under the same repository-relative names.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

declare global {
  var __AERIOX_RESOURCES__: string | undefined;
}

/** `repoPath` is relative to the repository root; `sourceUrl` is where it is from the calling module. */
export function resourcePath(repoPath: string, sourceUrl: URL): string {
  const bundled = globalThis.__AERIOX_RESOURCES__;
  return bundled ? path.join(bundled, repoPath) : fileURLToPath(sourceUrl);
}

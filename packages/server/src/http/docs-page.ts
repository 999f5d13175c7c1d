/**
 * `GET /docs`: the interactive API reference, rendered in the browser by Scalar's
 * standalone bundle from this server's own `GET /openapi.json` (the spec as loaded).
 * Public and offline: the bundle is served from here (from node_modules in the
 * workspace, from `dist/resources/vendor/` in the packed CLI, see its tsup config),
 * Scalar's web fonts, proxy and agent are turned off, and the CSP allows scripts and
 * requests to this origin only, so "Test request" calls go to this server. Outside the
 * spec, like the admin channel and /mcp: mounted before authentication and validation.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Router, type RequestHandler } from "express";

/** Where the bundle sits in the packed CLI's resources (the CLI's tsup config copies it there). */
export const SCALAR_RESOURCE = "vendor/scalar-api-reference.js";

function scalarBundlePath(): string | null {
  const bundled = globalThis.__AERIOX_RESOURCES__;
  if (bundled) return path.join(bundled, SCALAR_RESOURCE);
  try {
    // The package exports no subpath for its browser build: find it beside the main entry.
    const main = createRequire(import.meta.url).resolve("@scalar/api-reference");
    return path.join(path.dirname(main), "browser/standalone.js");
  } catch {
    return null;
  }
}

// The page runs Scalar's script and ours (both same-origin files: no inline script);
// Scalar injects its styles as <style> elements, hence 'unsafe-inline' for styles only.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AERIOX API reference</title>
</head>
<body>
<div id="app"></div>
<script src="/docs/scalar.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// "Test request" targets the origin the page was loaded from, whatever the spec's servers say.
const INIT = `Scalar.createApiReference("#app", {
  url: "/openapi.json",
  servers: [{ url: window.location.origin, description: "This server" }],
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
  hideClientButton: true,
  defaultOpenAllTags: true,
  persistAuth: false,
  metaData: { title: "AERIOX API reference" },
});
`;

export function docsPage(): RequestHandler {
  const bundle = scalarBundlePath();
  const router = Router();
  const headers = (res: Parameters<RequestHandler>[1], type: string) =>
    res.set({ "content-type": type, "content-security-policy": CSP, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-cache" });
  router.get("/docs", (_req, res) => {
    headers(res, "text/html; charset=utf-8").send(PAGE);
  });
  router.get("/docs/init.js", (_req, res) => {
    headers(res, "text/javascript; charset=utf-8").send(INIT);
  });
  router.get("/docs/scalar.js", (_req, res, next) => {
    if (!bundle || !existsSync(bundle)) {
      // A broken install, not a client error: say what is missing instead of a blank page.
      res.status(500).type("text/plain").send("The API reference bundle (@scalar/api-reference) is not installed.\n");
      return;
    }
    headers(res, "text/javascript; charset=utf-8").set("cache-control", "public, max-age=3600");
    // dotfiles: the workspace path runs through node_modules/.pnpm, which send() would refuse.
    res.sendFile(bundle, { dotfiles: "allow" }, (err) => err && next(err));
  });
  return router;
}

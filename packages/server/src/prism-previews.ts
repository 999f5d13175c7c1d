/**
 * `GET /prism-previews/{file}`: the prisms' preview files (PNG / MP4 / WAV rendered by the local
 * models at build time, core prisms/previews.ts), linked from `GET /v1/prisms` as `preview_url`.
 * Public static files outside the API contract, like /docs: mounted before authentication and
 * validation, so an <img> or <audio> tag can load them. Only names listed in the committed
 * manifest are served (no request path reaches the disk); anything else is the usual 404 error.
 */
import { Router } from "express";
import { previewFile } from "@aeriox/core/prisms";

export const PRISM_PREVIEWS_ROUTE = "/prism-previews";

export function prismPreviews(): Router {
  const router = Router();
  router.get(`${PRISM_PREVIEWS_ROUTE}/:file`, (req, res) => {
    const file = previewFile(String(req.params.file));
    if (!file) {
      res.status(404).json({ error: { code: "not_found", message: `No prism preview ${String(req.params.file)}` } });
      return;
    }
    // The files change only with a release (their names do not): a day of caching, then revalidation by ETag.
    res.sendFile(file.path, { headers: { "content-type": file.contentType, "cache-control": "public, max-age=86400", "x-content-type-options": "nosniff" }, dotfiles: "deny" });
  });
  return router;
}

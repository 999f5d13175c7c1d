/** Request id and CORS: the first middlewares, before parsing and validation. */
import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.headers["x-request-id"];
  const id = typeof incoming === "string" && SAFE_REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID().replace(/-/g, "")}`;
  res.setHeader("x-request-id", id);
  next();
};

/** Browsers call the API directly with the SDK; credentials are headers, never cookies. */
export function cors(allowedMethods: (path: string) => string[]): RequestHandler {
  return (req, res, next) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Expose-Headers", "x-request-id, retry-after, idempotent-replayed, deprecation");
    if (req.method !== "OPTIONS") return next();
    const methods = allowedMethods(req.path);
    if (methods.length === 0) return next();
    res.setHeader("Allow", [...methods, "OPTIONS"].join(", "));
    res.setHeader("Access-Control-Allow-Methods", [...methods, "OPTIONS"].join(", "));
    res.setHeader("Access-Control-Allow-Headers", "Authorization, X-Api-Key, Content-Type, Idempotency-Key, X-Request-Id");
    res.setHeader("Access-Control-Max-Age", "600");
    res.status(204).end();
  };
}

/** One log line per request: method, path (never the query: signed URLs carry secrets), status, duration. */
import type { RequestHandler } from "express";
import type { Logger } from "@aeriox/core/logger";

export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const principal = (req as { principal?: { workspaceId: string } }).principal;
      logger.info({ requestId: res.getHeader("x-request-id"), method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, workspaceId: principal?.workspaceId }, "request");
    });
    next();
  };
}

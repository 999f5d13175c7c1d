/**
 * One JSON log line and one histogram observation per request: request id, operationId,
 * workspace, status, duration. The operationId is the label (never the raw path: bounded
 * cardinality); authentication names it once it has matched the spec operation, so no
 * second match runs here. Requests that match no operation are `unmatched`, and only
 * their log line carries the path (never the query: signed URLs and OAuth codes live there).
 */
import type { Request, RequestHandler } from "express";
import type { AppServices } from "../services.ts";

const OPERATION = Symbol("aeriox.operationId");

type LabelledRequest = Request & { [OPERATION]?: string };

/** Names the request for the access log and the metrics: a spec operationId, or an operational route's name. */
export function labelOperation(req: Request, operationId: string): void {
  (req as LabelledRequest)[OPERATION] = operationId;
}

export function accessLog(services: Pick<AppServices, "logger" | "metrics">): RequestHandler {
  const { logger, metrics } = services;
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const operationId = (req as LabelledRequest)[OPERATION];
      metrics.observeRequest(operationId ?? "unmatched", res.statusCode, ms / 1000);
      const principal = (req as { principal?: { workspaceId: string } }).principal;
      logger.info(
        {
          requestId: res.getHeader("x-request-id"),
          operationId: operationId ?? "unmatched",
          ...(operationId ? {} : { method: req.method, path: req.path }),
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
          workspaceId: principal?.workspaceId,
        },
        "request",
      );
    });
    next();
  };
}

/**
 * GET /metrics, shared by the API server (mounted beside /docs) and `aeriox worker`
 * (its own listener on METRICS_PORT). Public unless METRICS_TOKEN is set; then
 * `Authorization: Bearer <token>` is required, compared in constant time, and anything
 * else is the API's usual 401 Error body (which says nothing about why).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../errors.ts";
import type { Metrics } from "./metrics.ts";

/** Both sides hashed first: equal lengths for timingSafeEqual, and the token's length does not leak either. */
function tokenMatches(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const match = typeof authorization === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return tokenMatches(match?.[1] ?? "", token);
}

export function serveMetrics(metrics: Metrics, token: string | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    res.setHeader("cache-control", "no-store");
    if (!metricsAuthorized(req.headers.authorization, token)) {
      res.statusCode = 401;
      res.setHeader("www-authenticate", 'Bearer realm="metrics"');
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(ApiError.unauthorized().toBody()));
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => {
        res.statusCode = 200;
        res.setHeader("content-type", contentType);
        res.end(body);
      },
      (err: unknown) => {
        // A collector failed (the database did not answer): say so instead of a partial page.
        res.statusCode = 503;
        res.setHeader("content-type", "text/plain; charset=utf-8");
        res.end(`metrics unavailable: ${(err as Error).message}\n`);
      },
    );
  };
}

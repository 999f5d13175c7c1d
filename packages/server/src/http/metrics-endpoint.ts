/**
 * `GET /metrics`: this process's Prometheus metrics (core observability/http.ts has the
 * token check and the exposition). An operational endpoint outside the OpenAPI contract,
 * mounted like /docs before authentication and validation. With API servers and workers
 * in separate processes each has its own: scrape every one (the worker's is on METRICS_PORT).
 */
import { Router } from "express";
import { serveMetrics } from "@aeriox/core/observability";
import type { AppServices } from "../services.ts";
import { labelOperation } from "./access-log.ts";

export function metricsEndpoint(services: AppServices): Router {
  const serve = serveMetrics(services.metrics, services.config.METRICS_TOKEN);
  const router = Router();
  router.get("/metrics", (req, res) => {
    labelOperation(req, "metrics"); // scrapes are counted, under a name of their own
    serve(req, res);
  });
  return router;
}

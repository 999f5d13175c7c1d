/**
 * The Express application: request id → CORS → body parsing → OpenAPI validation
 * (requests always, responses when configured) → operation handlers → 404 → the
 * one error middleware.
 */
import express, { type Express, type RequestHandler } from "express";
import { ApiError } from "@aeriox/core/errors";
import { loadSpec, methodsForPath } from "./spec.ts";
import { requestId, cors } from "./http/request-context.ts";
import { accessLog } from "./http/access-log.ts";
import { errorMiddleware } from "./http/errors.ts";
import { inputGuard } from "./http/input-guard.ts";
import { bindOperations } from "./http/router.ts";
import { requestValidator } from "./http/validator.ts";
import { authenticationMiddleware } from "./http/authenticate.ts";
import { docsPage } from "./http/docs-page.ts";
import { prismPreviews } from "./prism-previews.ts";
import { metricsEndpoint } from "./http/metrics-endpoint.ts";
import { oauthDiscovery } from "./http/oauth-discovery.ts";
import type { HandlerMap } from "./http/handler.ts";
import type { AppServices } from "./services.ts";
import { handlers as defaultHandlers } from "./handlers/index.ts";

export interface AppOptions {
  /** Replace or add handlers (tests use this to prove contract enforcement). */
  handlers?: HandlerMap;
  /** Routes outside the spec (admin channel, MCP), mounted before validation. */
  extraRoutes?: (app: Express) => void;
}

const keepRawBody = (req: unknown, _res: unknown, buf: Buffer): void => {
  (req as { rawBody?: Buffer }).rawBody = buf;
};

export function createApp(services: AppServices, options: AppOptions = {}): Express {
  const spec = loadSpec();
  const handlers: HandlerMap = { ...defaultHandlers, ...options.handlers };
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "extended");
  app.set("trust proxy", "loopback");

  app.use(requestId);
  app.use(accessLog(services));
  app.use(cors(methodsForPath));
  // HEAD is GET without a body (RFC 9110); Node drops the body because the request was HEAD.
  app.use((req, _res, next) => {
    if (req.method === "HEAD" && methodsForPath(req.path).includes("GET")) req.method = "GET";
    next();
  });
  app.use(docsPage()); // GET /docs: the API reference, public and outside the spec like extraRoutes
  app.use(prismPreviews()); // GET /prism-previews/{file}: prism preview files, public and outside the spec like /docs
  app.use(metricsEndpoint(services)); // GET /metrics: Prometheus, outside the spec like /docs (METRICS_TOKEN)
  app.use(oauthDiscovery(services)); // /.well-known OAuth metadata (RFC 8414, 9728) and POST /oauth/register (RFC 7591), outside the spec
  options.extraRoutes?.(app);

  app.use(authenticationMiddleware(services));

  // gzip, deflate and br bodies are inflated and `limit` bounds the inflated bytes (a small
  // compressed body cannot expand past it); other encodings answer 415, corrupt ones 400.
  const limit = services.config.BODY_LIMIT_BYTES;
  app.use(express.json({ limit, verify: keepRawBody, type: ["application/json", "application/*+json"] }) as RequestHandler);
  app.use(express.urlencoded({ limit, extended: false }) as RequestHandler);
  app.use(inputGuard({ maxDepth: services.config.BODY_MAX_DEPTH }));

  app.use(requestValidator({ responseValidation: services.config.responseValidation }));

  bindOperations(app, spec, handlers, services);
  app.use((req, _res, next) => next(new ApiError(404, "not_found", `No route for ${req.method} ${req.path}`)));
  app.use(errorMiddleware(services.logger, methodsForPath));
  return app;
}

/**
 * Binds every spec operation to its handler by operationId. Operations without a
 * handler answer 501 `not_implemented`; `unimplementedOperations` lists them (start-up logs
 * them; a test holds the list empty for the shipped handlers).
 */
import type { Express, Request, Response, NextFunction } from "express";
import { ApiError } from "@aeriox/core/errors";
import type { LoadedSpec, SpecOperation } from "../spec.ts";
import type { AppServices } from "../services.ts";
import type { HandlerMap, RawResponse, RequestContext } from "./handler.ts";
import type { OperationId } from "./contract.ts";
import type { AuthenticatedRequest } from "./authenticate.ts";
import { validatedOperation } from "./validator.ts";
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey, requestHash } from "@aeriox/core/idempotency";

/**
 * Operations whose body is raw bytes streamed by the handler: there is no parsed body to hash
 * here, so the handler keeps the Idempotency-Key promise itself (it hashes the bytes it stored).
 */
const STREAMED_BODY_OPERATIONS = new Set<string>(["uploadAsset"]);

type AnyHandler = (ctx: RequestContext<OperationId>) => Promise<{ status: number; body: unknown; headers?: Record<string, string> } | RawResponse>;

export function unimplementedOperations(spec: LoadedSpec, handlers: HandlerMap): string[] {
  return spec.operations.filter((op) => typeof (handlers as Record<string, unknown>)[op.operationId] !== "function").map((op) => op.operationId).sort();
}

/** Aborted when the client goes away before the response is finished. */
function requestSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  // Created on first use (see dispatch): the client may already be gone by then.
  if (!res.writableFinished && (res.destroyed || !res.socket || res.socket.destroyed)) controller.abort();
  else
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
  return controller.signal;
}

async function dispatch(op: SpecOperation, handler: AnyHandler | undefined, services: AppServices, req: Request, res: Response): Promise<void> {
  const auth = (req as AuthenticatedRequest).principal ?? null;
  if (op.authenticated && !auth) throw new ApiError(401, "unauthorized", "Missing or invalid credentials");
  if (!handler) throw new ApiError(501, "not_implemented", `${op.operationId} is not implemented by this server yet`);
  if (req.body !== undefined && !Buffer.isBuffer(req.body)) req.body = op.pruneBody(req.body);
  const requestId = String(res.getHeader("x-request-id"));
  let log: RequestContext<OperationId>["log"] | undefined;
  let signal: AbortSignal | undefined;
  const ctx: RequestContext<OperationId> = {
    params: req.params as never,
    query: req.query as never,
    body: req.body as never,
    services,
    requestId,
    headers: req.headers,
    rawBody: (req as Request & { rawBody?: Buffer }).rawBody,
    request: req,
    // The child logger and the abort signal (a controller and a 'close' listener) are made
    // when a handler first asks: most requests use neither, and both showed per request.
    get log() {
      log ??= services.logger.child({ requestId, op: op.operationId });
      return log;
    },
    get signal() {
      signal ??= requestSignal(res);
      return signal;
    },
    auth,
  };
  // RFC 9745: tell clients of deprecated operations where they stand.
  if (op.deprecated) res.setHeader("Deprecation", "true");

  const idempotencyKey = op.method === "post" && auth && !STREAMED_BODY_OPERATIONS.has(op.operationId) ? req.get("idempotency-key") : undefined;
  if (!idempotencyKey) return send(res, await handler(ctx));

  const scope = { workspaceId: auth!.workspaceId, key: idempotencyKey };
  const claim = await claimIdempotencyKey(services.db, { ...scope, operationId: op.operationId, hash: requestHash(op.operationId, req.path, req.body), leaseSeconds: services.config.IDEMPOTENCY_LEASE_SECONDS });
  if (claim.kind === "replay") {
    res.setHeader("Idempotent-Replayed", "true");
    return send(res, { status: claim.response.status, body: claim.response.body });
  }
  let result: HandlerOutcome;
  try {
    result = await handler(ctx);
  } catch (err) {
    await releaseIdempotencyKey(services.db, claim.token);
    throw err;
  }
  if (!("kind" in result) && result.status < 300) {
    const stored = await completeIdempotencyKey(services.db, claim.token, { status: result.status, body: result.body ?? null });
    if (!stored) ctx.log.warn({ idempotencyKey: scope.key }, "request outlived its idempotency lease; a retry took the key over");
  } else await releaseIdempotencyKey(services.db, claim.token);
  return send(res, result);
}

type HandlerOutcome = Awaited<ReturnType<AnyHandler>>;

async function send(res: Response, result: HandlerOutcome): Promise<void> {
  if ("kind" in result && result.kind === "raw") {
    await result.send(res);
    return;
  }
  const { status, body, headers } = result as { status: number; body: unknown; headers?: Record<string, string> };
  for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
  if (body === undefined || (body === null && status === 204)) res.status(status).end();
  else res.status(status).json(body);
}

/**
 * One layer dispatches every spec operation: the operation the request validator matched
 * (`validatedOperation`), not a second route match. (Express's one route per operation made
 * every request walk up to ~75 route layers: the router's largest share of the API's CPU and
 * allocations under load.) Requests no operation matched go on to the 404.
 */
export function bindOperations(app: Express, spec: LoadedSpec, handlers: HandlerMap, services: AppServices): void {
  const handlerOf = new Map(spec.operations.map((op) => [op.operationId, handlers[op.operationId as OperationId] as AnyHandler | undefined]));
  app.use((req: Request, res: Response, next: NextFunction) => {
    const validated = validatedOperation(req);
    if (!validated) return next();
    req.params = validated.params;
    dispatch(validated.op, handlerOf.get(validated.op.operationId), services, req, res).catch(next);
  });
}

/**
 * What a handler sees and returns. Handlers are thin: they read the validated
 * input, call a domain function and return a documented status and body.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Response } from "express";
import type { Logger } from "@aeriox/core/logger";
import { ApiError } from "@aeriox/core/errors";
import type { Principal } from "@aeriox/core/auth";
import type { AppServices } from "../services.ts";
import type { OperationId, OperationInput, OperationResult } from "./contract.ts";

export interface RequestContext<Id extends OperationId> extends OperationInput<Id> {
  services: AppServices;
  requestId: string;
  headers: IncomingHttpHeaders;
  /** Raw request bytes (JSON bodies), for signature checks such as Stripe's. */
  rawBody: Buffer | undefined;
  /** The request itself: operations with a binary body (uploadAsset) stream it from here, unread by any parser. */
  request: IncomingMessage;
  log: Logger;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** The authenticated caller; absent only on `security: []` operations. */
  auth: Principal | null;
}

/** A request header Node may give as a list (a repeated header): its first value. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Escape hatch for bodies that are not JSON (SSE, files, HTML, redirects). */
export interface RawResponse {
  kind: "raw";
  send(res: Response): void | Promise<void>;
}

export function rawResponse(send: RawResponse["send"]): RawResponse {
  return { kind: "raw", send };
}

export type Handler<Id extends OperationId> = (ctx: RequestContext<Id>) => Promise<OperationResult<Id> | RawResponse>;

export type HandlerMap = { [Id in OperationId]?: Handler<Id> };

/** Identity function that lets TypeScript check each handler against its operation. */
export function defineHandlers<M extends HandlerMap>(handlers: M): M {
  return handlers;
}

/** The caller of an authenticated operation (the router guarantees one exists). */
export function principalOf(ctx: { auth: Principal | null }): Principal {
  if (!ctx.auth) throw ApiError.unauthorized();
  return ctx.auth;
}

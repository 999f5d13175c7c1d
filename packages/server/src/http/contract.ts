/**
 * Types that bind handlers to the spec: a handler for operation X receives X's
 * validated params/query/body and may only return a status and body that the
 * spec documents for X. `@aeriox/contract/api` (packages/contract/src/generated/api.d.ts) comes from `pnpm gen`.
 */
import type { operations } from "@aeriox/contract/api";

export type OperationId = keyof operations;

type Op<Id extends OperationId> = operations[Id];
type Param<Id extends OperationId, Where extends "path" | "query" | "header"> =
  Op<Id>["parameters"] extends { [K in Where]?: infer P } ? (P extends undefined ? Record<string, never> : NonNullable<P>) : Record<string, never>;

type JsonRequest<Id extends OperationId> = Op<Id> extends { requestBody: { content: infer C } }
  ? C extends { "application/json": infer B } ? B
  : C extends { "application/x-www-form-urlencoded": infer F } ? F
  : unknown
  : Op<Id> extends { requestBody?: { content: infer C } }
    ? C extends { "application/json": infer B } ? B | undefined : unknown
    : undefined;

type ResponseBody<R> = R extends { content: { "application/json": infer B } } ? B : R extends { content: infer C } ? C[keyof C] : undefined;

/** The union of `{ status, body }` pairs the spec documents for this operation. */
export type OperationResult<Id extends OperationId> = {
  [S in keyof Op<Id>["responses"]]: S extends number
    ? { status: S; body: ResponseBody<Op<Id>["responses"][S]>; headers?: Record<string, string> }
    : never;
}[keyof Op<Id>["responses"]];

export interface OperationInput<Id extends OperationId> {
  params: Param<Id, "path">;
  query: Param<Id, "query">;
  body: JsonRequest<Id>;
}

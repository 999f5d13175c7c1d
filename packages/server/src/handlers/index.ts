/** Every handler, one module per spec tag, bound by operationId in http/router.ts. */
import type { HandlerMap } from "../http/handler.ts";
import { discoveryHandlers } from "./discovery.ts";

export const handlers: HandlerMap = {
  ...discoveryHandlers,
};

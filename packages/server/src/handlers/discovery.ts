/** Discovery tag: the spec itself, models, pricing, estimates. */
import { defineHandlers, rawResponse } from "../http/handler.ts";
import { loadSpec } from "../spec.ts";

export const discoveryHandlers = defineHandlers({
  getOpenApiSpec: async () =>
    rawResponse((res) => {
      res.setHeader("Cache-Control", "public, max-age=3600");
      res.status(200).type("application/json").send(loadSpec().json);
    }),
});

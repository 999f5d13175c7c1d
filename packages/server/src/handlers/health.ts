/** Health tag: liveness (process up) and readiness (database, and queue when configured). */
import { ApiError } from "@aeriox/core/errors";
import { checkReadiness } from "@aeriox/core/readiness";
import { defineHandlers } from "../http/handler.ts";

export const healthHandlers = defineHandlers({
  getHealth: async () => ({ status: 200, body: { status: "ok" } }),
  getReadiness: async ({ services }) => {
    const checks = await checkReadiness(services);
    if (checks.database !== "ok" || checks.queue === "unavailable") {
      throw ApiError.unavailable("not_ready", "A dependency is unavailable", { checks });
    }
    return { status: 200, body: { status: "ready", checks: { database: checks.database, queue: checks.queue } } };
  },
});

/** Liveness and readiness: /readyz turns 503 (Error shape, per-dependency checks) when the database is gone. */
import { describe, expect, it } from "vitest";
import { startTestServer } from "./harness.ts";

describe("health", () => {
  it("/healthz stays up while /readyz reports an unreachable database with 503", async () => {
    const srv = await startTestServer({ worker: false });
    try {
      expect((await srv.request("/readyz")).status).toBe(200);
      // Simulate the database going away underneath a running server.
      const prisma = srv.runtime.db.prisma;
      const original = prisma.$queryRawUnsafe.bind(prisma);
      (prisma as unknown as { $queryRawUnsafe: unknown }).$queryRawUnsafe = () => Promise.reject(new Error("connection terminated"));
      try {
        const ready = await srv.request("/readyz");
        expect(ready.status).toBe(503);
        const body = (await ready.json()) as { error: { code: string; details: { checks: { database: string } } } };
        expect(body.error.code).toBe("not_ready");
        expect(body.error.details.checks.database).toBe("unavailable");
        expect((await srv.request("/healthz")).status).toBe(200);
      } finally {
        (prisma as unknown as { $queryRawUnsafe: unknown }).$queryRawUnsafe = original;
      }
      expect((await srv.request("/readyz")).status).toBe(200);
    } finally {
      await srv.close();
    }
  }, 90_000); // starts its own server: on a busy machine that alone can take most of the default 30 s
});

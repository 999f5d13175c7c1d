/** What `/readyz` reports: can this process reach its database and (when configured) its queue? */
import type { Runtime } from "./runtime.ts";

export type CheckState = "ok" | "unavailable" | "not_configured";

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(runtime: Pick<Runtime, "db" | "redis">): Promise<{ database: CheckState; queue: CheckState }> {
  const database = await withTimeout(runtime.db.prisma.$queryRawUnsafe("SELECT 1"), 2000).then(
    () => "ok" as const,
    () => "unavailable" as const,
  );
  const queue = runtime.redis
    ? await withTimeout(runtime.redis.ping(), 2000).then(
        () => "ok" as const,
        () => "unavailable" as const,
      )
    : ("not_configured" as const);
  return { database, queue };
}

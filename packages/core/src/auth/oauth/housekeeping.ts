/**
 * Forgets OAuth rows that can no longer matter: expired pending authorizations and
 * codes (kept a day for reuse detection of late replays), and revoked jtis whose tokens
 * have expired anyway. Runs opportunistically from the flow, at most every 10 minutes
 * per process, off the request path; any process may do it (the deletes are idempotent).
 */
import type { Database } from "../../db/index.ts";

const INTERVAL_MS = 10 * 60_000;
const KEEP_EXPIRED_MS = 86400_000;
const lastRun = new WeakMap<Database, number>();

export async function purgeExpiredOAuthRows(db: Database, now = Date.now()): Promise<{ requests: number; codes: number; jtis: number }> {
  const cutoff = new Date(now - KEEP_EXPIRED_MS);
  const requests = await db.prisma.oAuthAuthorizationRequest.deleteMany({ where: { expiresAt: { lt: cutoff } } });
  const codes = await db.prisma.oAuthCode.deleteMany({ where: { expiresAt: { lt: cutoff } } });
  const jtis = await db.prisma.oAuthRevokedJti.deleteMany({ where: { expiresAt: { lt: new Date(now) } } });
  return { requests: requests.count, codes: codes.count, jtis: jtis.count };
}

/** Never inside a transaction callback (PGlite would wait on itself). */
export function maybePurgeExpiredOAuthRows(db: Database): void {
  const now = Date.now();
  if ((lastRun.get(db) ?? 0) + INTERVAL_MS > now) return;
  lastRun.set(db, now);
  purgeExpiredOAuthRows(db, now).catch(() => undefined);
}

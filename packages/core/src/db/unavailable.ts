/**
 * Whether an error means the database could not be reached or dropped the connection
 * (an outage, not a bug): such a request answers 503 `database_unavailable`, never 500.
 * pg: a socket error, "Connection terminated…", SQLSTATE class 08 or 57P01–57P03;
 * Prisma: P1001/P1002/P1008/P1017/P2024 or its initialization error; `cause` is followed.
 */
const TRANSPORT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
const PRISMA_UNREACHABLE_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const UNREACHABLE_MESSAGE = /^Connection terminated|Can't reach database server|Client has encountered a connection error|timeout exceeded when trying to connect/;

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== "object" || depth > 4) return false;
  const e = err as { name?: string; code?: unknown; message?: unknown; cause?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : "";
  if (e.name === "PrismaClientInitializationError") return true;
  if (e.name === "PrismaClientKnownRequestError" && PRISMA_UNREACHABLE_CODES.has(code)) return true;
  if (TRANSPORT_CODES.has(code) || /^08/.test(code) || /^57P0[123]$/.test(code)) return true;
  if (UNREACHABLE_MESSAGE.test(message)) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

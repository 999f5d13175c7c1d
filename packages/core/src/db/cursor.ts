/**
 * Keyset pagination, newest first: the cursor is an opaque base64url of `[created_at ISO, id]`
 * of the last row of a page. A cursor this API did not write (crafted, truncated, another
 * shape) is 400 `invalid_cursor`, never a 500. Used by every cursor-paginated list
 * (characters, jobs).
 */
import { ApiError } from "../errors.ts";
import { isUuid } from "../ids.ts";

export interface CursorKey {
  createdAt: Date;
  id: string;
}

export function encodeCursor(c: CursorKey): string {
  return Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString("base64url");
}

const CURSOR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function decodeCursor(cursor: string): CursorKey {
  const bad = () => ApiError.badRequest("invalid_cursor", "The cursor is not one this API returned", { fields: [{ field: "query.cursor", message: "is not a cursor this API returned" }] });
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string" || !isUuid(parsed[1])) throw bad();
  // Only what encodeCursor writes: an ISO instant that reads back unchanged, after 1970 and
  // before year 10000 (JavaScript dates reach years PostgreSQL cannot store, e.g. -200000 or 0).
  const createdAt = new Date(parsed[0]);
  if (!CURSOR_INSTANT.test(parsed[0]) || !(createdAt.getTime() >= 0) || createdAt.toISOString() !== parsed[0]) throw bad();
  return { createdAt, id: parsed[1] };
}

/** A page size from the query: default, or 400 outside 1..max (the spec bounds it too). */
export function pageLimit(limit: number | undefined, fallback = 20, max = 100): number {
  const value = limit ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw ApiError.badRequest("invalid_request", `limit must be an integer from 1 to ${max}`, { field: "query.limit" });
  return value;
}

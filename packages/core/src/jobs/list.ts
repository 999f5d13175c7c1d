/**
 * `GET /v1/jobs`: the caller's workspace jobs, newest first, keyset-paginated by
 * (created_at, id) with the shared opaque cursor (db/cursor.ts). One statement on the raw
 * driver, served by the index `jobs_workspace_id_created_at_id_idx` (filters narrow the
 * rows it walks); every value bound, never spliced.
 */
import type { Database } from "../db/index.ts";
import { decodeCursor, encodeCursor, pageLimit } from "../db/cursor.ts";
import { ApiError } from "../errors.ts";
import { JOB_BODY_COLUMNS, jobBodyFieldsOf, type JobBodyFields, type JobBodyRow } from "./serialize.ts";

export interface ListJobsQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
  status?: string | undefined;
  type?: string | undefined;
  model?: string | undefined;
  /** Inclusive lower bound of `created_at` (date-time). */
  created_after?: string | undefined;
  /** Exclusive upper bound of `created_at` (date-time). */
  created_before?: string | undefined;
  api_key_id?: string | undefined;
}

/** A date-time query parameter as an instant PostgreSQL stores (years 1970..9999), or 400 naming it. */
export function instantParam(value: string, field: string): Date {
  const date = new Date(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1970 || year > 9999) {
    throw ApiError.badRequest("invalid_request", `${field} must be an RFC 3339 date-time between 1970 and 9999`, { fields: [{ field, message: "must be an RFC 3339 date-time between 1970 and 9999" }] });
  }
  return date;
}

export async function listJobs(services: { db: Database }, workspaceId: string, query: ListJobsQuery): Promise<{ jobs: JobBodyFields[]; nextCursor: string | null }> {
  const limit = pageLimit(query.limit);
  const params: Array<string | number> = [workspaceId];
  const bind = (value: string | number) => `$${params.push(value)}`;
  const where = ["j.workspace_id = $1::uuid"];
  if (query.status !== undefined) where.push(`j.status = ${bind(query.status)}::job_status`);
  if (query.type !== undefined) where.push(`j.type = ${bind(query.type)}::job_type`);
  if (query.model !== undefined) where.push(`j.model = ${bind(query.model)}`);
  if (query.api_key_id !== undefined) where.push(`j.api_key_id = ${bind(query.api_key_id)}::uuid`);
  if (query.created_after !== undefined) where.push(`j.created_at >= ${bind(instantParam(query.created_after, "query.created_after").toISOString())}::timestamptz`);
  if (query.created_before !== undefined) where.push(`j.created_at < ${bind(instantParam(query.created_before, "query.created_before").toISOString())}::timestamptz`);
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    where.push(`(j.created_at, j.id) < (${bind(after.createdAt.toISOString())}::timestamptz, ${bind(after.id)}::uuid)`);
  }
  const sql = `SELECT ${JOB_BODY_COLUMNS} FROM jobs j WHERE ${where.join(" AND ")} ORDER BY j.created_at DESC, j.id DESC LIMIT ${bind(limit + 1)}`;
  const rows = await services.db.query<JobBodyRow>(sql, params);
  const jobs = rows.slice(0, limit).map(jobBodyFieldsOf);
  return { jobs, nextCursor: rows.length > limit ? encodeCursor(jobs[jobs.length - 1]!) : null };
}

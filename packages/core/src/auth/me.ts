/** `GET /v1/me`: the calling workspace and credential. */
import { ApiError } from "../errors.ts";
import type { Database } from "../db/index.ts";
import { microsToUsd } from "../money.ts";
import type { Principal } from "./principal.ts";

// One statement on the raw driver (a frequent authenticated read; through Prisma's adapter it cost several times more).
const WORKSPACE_SQL = "SELECT id::text AS id, name, plan, created_at FROM workspaces WHERE id = $1::uuid";

export async function getMe(db: Database, principal: Principal) {
  // An API key's principal carries its workspace (authenticate.ts); an OAuth token's is read here.
  const workspace = principal.workspace
    ? { id: principal.workspaceId, name: principal.workspace.name, plan: principal.workspace.plan, created_at: principal.workspace.createdAt }
    : (await db.query<{ id: string; name: string; plan: string; created_at: Date }>(WORKSPACE_SQL, [principal.workspaceId], { prepared: true }))[0];
  if (!workspace) throw ApiError.unauthorized();
  return {
    workspace: { id: workspace.id, name: workspace.name, plan: workspace.plan, created_at: workspace.created_at.toISOString() },
    api_key: {
      prefix: principal.keyPrefix ?? "oauth",
      scopes: principal.scopes,
      daily_spend_cap_usd: principal.dailySpendCapMicros === null ? null : microsToUsd(principal.dailySpendCapMicros),
    },
  };
}

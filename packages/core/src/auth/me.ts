/** `GET /v1/me`: the calling workspace and credential. */
import { ApiError } from "../errors.ts";
import type { Database } from "../db/index.ts";
import { microsToUsd } from "../money.ts";
import type { Principal } from "./principal.ts";

export async function getMe(db: Database, principal: Principal) {
  const workspace = await db.prisma.workspace.findUnique({ where: { id: principal.workspaceId } });
  if (!workspace) throw ApiError.unauthorized();
  return {
    workspace: { id: workspace.id, name: workspace.name, plan: workspace.plan, created_at: workspace.createdAt.toISOString() },
    api_key: {
      prefix: principal.keyPrefix ?? "oauth",
      scopes: principal.scopes,
      daily_spend_cap_usd: principal.dailySpendCapMicros === null ? null : microsToUsd(principal.dailySpendCapMicros),
    },
  };
}

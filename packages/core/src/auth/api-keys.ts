/**
 * API keys: `sk_live_` + 32 random bytes (base64url). Only the SHA-256 of a key is
 * stored (keys are high-entropy, so a fast hash is enough and lookups stay O(1)),
 * with a short display prefix. The plaintext exists only in the create/rotate response.
 */
import { createHash, randomBytes } from "node:crypto";
import { ApiError } from "../errors.ts";
import type { Database } from "../db/index.ts";
import { SCOPES, type Scope } from "./principal.ts";

export const KEY_PREFIX = "sk_live_";
const DISPLAY_PREFIX_LENGTH = KEY_PREFIX.length + 6;

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString("base64url");
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
}

export interface ApiKeyRecord {
  id: string;
  workspaceId: string;
  name: string | null;
  prefix: string;
  scopes: string[];
  dailySpendCapMicros: bigint | null;
  monthlyBudgetMicros: bigint | null;
  /** Empty: every model. */
  allowedModels: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  rotatedToId: string | null;
}

export interface CreateApiKeyInput {
  workspaceId: string;
  name?: string | null;
  scopes?: Scope[];
  dailySpendCapMicros?: bigint | null;
  monthlyBudgetMicros?: bigint | null;
  /** null/undefined/empty: every model. */
  allowedModels?: string[] | null;
}

export function normalizeScopes(scopes: readonly string[] | undefined): Scope[] {
  const chosen = scopes && scopes.length > 0 ? scopes : SCOPES;
  const unknown = chosen.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length) throw ApiError.badRequest("invalid_request", `Unknown scope(s): ${unknown.join(", ")}`, { fields: [{ field: "body.scopes", message: `must be one of ${SCOPES.join(", ")}` }] });
  return SCOPES.filter((s) => chosen.includes(s));
}

type Tx = Pick<Database["prisma"], "apiKey">;

/** Creates a key and returns its plaintext once. */
export async function createApiKey(db: Tx, input: CreateApiKeyInput): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = generateApiKey();
  const record = await db.apiKey.create({
    data: {
      workspaceId: input.workspaceId,
      name: input.name ?? null,
      prefix: displayPrefix(key),
      keyHash: hashApiKey(key),
      scopes: normalizeScopes(input.scopes),
      dailySpendCapMicros: input.dailySpendCapMicros ?? null,
      monthlyBudgetMicros: input.monthlyBudgetMicros ?? null,
      allowedModels: input.allowedModels ?? [],
    },
  });
  return { key, record };
}

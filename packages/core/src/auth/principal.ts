/** Who is calling: resolved from an API key or an OAuth access token. */
export const SCOPES = ["generate", "read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  kind: "api_key" | "oauth";
  workspaceId: string;
  /** The key that authenticated the call (API keys only). */
  apiKeyId: string | null;
  keyPrefix: string | null;
  scopes: Scope[];
  dailySpendCapMicros: bigint | null;
  /** The key's budget per UTC calendar month (API keys only); null/absent = none. */
  monthlyBudgetMicros?: bigint | null;
  /** Canonical catalog model ids the key may submit (API keys only); null/absent = every model. */
  allowedModels?: string[] | null;
  /** OAuth client that obtained the token (OAuth only). */
  clientId: string | null;
  /**
   * The workspace's own fields, read with the key (API keys only): `GET /v1/me` answers from
   * the principal, cached like it (credential-cache.ts), instead of a read per request. These
   * columns are written once, when the workspace is created (docs/ARCHITECTURE.md, Access).
   */
  workspace?: { name: string; plan: string; createdAt: Date };
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope);
}

/**
 * The flags of a key's name, scopes and limits: `aeriox keys create | update` (operator, on the
 * database) and `aeriox api-keys create | update` (through the API, POST /v1/api-keys and
 * PATCH /v1/api-keys/{id}), read into the request body they all take.
 */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import { UsageError } from "../output.ts";

export interface KeyUpdateFlags {
  name?: string | undefined;
  scopes?: string | undefined;
  dailyCapUsd?: string | undefined;
  monthlyBudgetUsd?: string | undefined;
  allowModels?: string | undefined;
}

export interface KeyUpdateBody {
  name?: string;
  scopes?: Array<"generate" | "read" | "admin">;
  daily_spend_cap_usd?: number | null;
  monthly_budget_usd?: number | null;
  allowed_models?: string[] | null;
}

const SCOPES = ["generate", "read", "admin"] as const;

export function withKeyUpdateOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(command: Command<A, O, G>) {
  return command
    .option("--name <name>", "a label for the key")
    .option("--scopes <list>", "comma-separated scopes: generate,read,admin")
    .option("--daily-cap-usd <usd|none>", "trailing-24 h spend cap in USD, or none")
    .option("--monthly-budget-usd <usd|none>", "budget per UTC calendar month in USD, or none")
    .option("--allow-models <list|all>", "comma-separated model ids the key may use, or all");
}

/** A non-negative USD amount of at most 6 decimals (whole micro-dollars), or null for `none`. */
function usdOrNone(value: string, flag: string): number | null {
  if (value.trim().toLowerCase() === "none") return null;
  if (!/^\d+(\.\d{1,6})?$/.test(value.trim())) throw new UsageError(`${flag} must be a non-negative USD amount with at most 6 decimals, or none`);
  return Number(value);
}

/**
 * The fields the flags give (none: `{}`). On create an omitted field is the creating key's (the
 * operator's: no limit); on update it stays as it is.
 */
export function keyFlagsBody(flags: KeyUpdateFlags): KeyUpdateBody {
  const body: KeyUpdateBody = {};
  if (flags.name !== undefined) {
    if (flags.name.length === 0) throw new UsageError("--name must not be empty");
    body.name = flags.name;
  }
  if (flags.scopes !== undefined) {
    const scopes = flags.scopes.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (scopes.length === 0 || unknown.length > 0) throw new UsageError(`--scopes must list some of ${SCOPES.join(",")}${unknown.length ? ` (unknown: ${unknown.join(",")})` : ""}`);
    body.scopes = [...new Set(scopes)] as KeyUpdateBody["scopes"];
  }
  if (flags.dailyCapUsd !== undefined) body.daily_spend_cap_usd = usdOrNone(flags.dailyCapUsd, "--daily-cap-usd");
  if (flags.monthlyBudgetUsd !== undefined) body.monthly_budget_usd = usdOrNone(flags.monthlyBudgetUsd, "--monthly-budget-usd");
  if (flags.allowModels !== undefined) {
    const models = flags.allowModels.split(",").map((s) => s.trim()).filter(Boolean);
    if (models.length === 0) throw new UsageError("--allow-models must list model ids, or be all");
    body.allowed_models = models.length === 1 && models[0]!.toLowerCase() === "all" ? null : [...new Set(models)];
  }
  return body;
}

export function keyUpdateBody(flags: KeyUpdateFlags): KeyUpdateBody {
  const body = keyFlagsBody(flags);
  if (Object.keys(body).length === 0) throw new UsageError("nothing to change: give --name, --scopes, --daily-cap-usd, --monthly-budget-usd or --allow-models");
  return body;
}

/** The key's limits, one per line, for the human-readable output. */
export function keyLimitsText(key: { id: string; name: string | null; scopes: string[]; daily_spend_cap_usd: number | null; monthly_budget_usd: number | null; monthly_spent_usd: number; monthly_budget_resets_at: string; allowed_models: string[] | null }): string {
  return [
    `Updated ${key.id}${key.name ? ` (${key.name})` : ""}`,
    `  scopes:         ${key.scopes.join(", ")}`,
    `  daily cap:      ${key.daily_spend_cap_usd === null ? "none" : `$${key.daily_spend_cap_usd}`}`,
    `  monthly budget: ${key.monthly_budget_usd === null ? "none" : `$${key.monthly_budget_usd}`} (spent $${key.monthly_spent_usd} this month; resets ${key.monthly_budget_resets_at})`,
    `  models:         ${key.allowed_models === null ? "all" : key.allowed_models.join(", ")}`,
  ].join("\n");
}

/**
 * Client configuration, the one place the CLI's client commands read it: where the API is,
 * which key to use and how often to retry (`AERIOX_MAX_RETRIES`).
 * Precedence: flags (`--api-key`, `--base-url`), then env (`AERIOX_API_KEY`,
 * `AERIOX_BASE_URL`), then the profile written by `aeriox login`
 * (`$XDG_CONFIG_HOME/aeriox/config.json`, default `~/.config/aeriox/config.json`,
 * file mode 0600 in a 0700 folder).
 *
 * The file: `{"base_url", "api_key"}` is the `default` profile (the format older
 * versions wrote); other profiles live under `"profiles": {"<name>": {…}}` and
 * `AERIOX_PROFILE=<name>` selects one. `@aeriox/sdk` reads the same file (its
 * `src/env.ts`, without importing this package): change both together.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { commandName } from "./invocation.ts";

export const DEFAULT_BASE_URL = "http://localhost:8080";
/** The SDK's own default. */
const DEFAULT_MAX_RETRIES = 2;

export interface Profile {
  base_url?: string;
  api_key?: string;
}

export interface ClientSettings {
  apiKey: string | undefined;
  baseUrl: string;
  /** The SDK's retries of a failed request: AERIOX_MAX_RETRIES (a whole number ≥ 0), else 2. */
  maxRetries: number;
  /** Where each value came from (for `aeriox login`/diagnostics). */
  source: { apiKey: "flag" | "env" | "profile" | "none"; baseUrl: "flag" | "env" | "profile" | "default" };
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homedir(), ".config");
  return path.join(base, "aeriox");
}

export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), "config.json");
}

interface ProfileFile extends Profile {
  profiles?: Record<string, Profile>;
}

/** The profile `AERIOX_PROFILE` selects; `default` (or unset) is the file's top level. */
export function profileName(env: NodeJS.ProcessEnv = process.env): string {
  return env.AERIOX_PROFILE?.trim() || "default";
}

function readFile(env: NodeJS.ProcessEnv): ProfileFile {
  try {
    const parsed = JSON.parse(readFileSync(profilePath(env), "utf8")) as unknown;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as ProfileFile) : {};
  } catch {
    return {};
  }
}

const pick = (p: Profile | undefined): Profile => ({ ...(p?.base_url !== undefined && { base_url: p.base_url }), ...(p?.api_key !== undefined && { api_key: p.api_key }) });

export function readProfile(env: NodeJS.ProcessEnv = process.env): Profile {
  const file = readFile(env);
  const name = profileName(env);
  return pick(name === "default" ? file : file.profiles?.[name]);
}

function writeFile(content: ProfileFile, env: NodeJS.ProcessEnv): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = profilePath(env);
  writeFileSync(file, JSON.stringify(content, null, 2) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** Writes the selected profile privately (folder 0700, file 0600, also when they already existed), keeping the others. */
export function writeProfile(profile: Profile, env: NodeJS.ProcessEnv = process.env): string {
  const file = readFile(env);
  const name = profileName(env);
  if (name === "default") return writeFile({ ...file, ...pick(profile) }, env);
  return writeFile({ ...file, profiles: { ...file.profiles, [name]: pick(profile) } }, env);
}

/** Removes the selected profile (the file when nothing is left in it); returns whether there was one. */
export function removeProfile(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = readFile(env);
  const name = profileName(env);
  let rest: ProfileFile;
  if (name === "default") {
    if (file.api_key === undefined && file.base_url === undefined) return false;
    rest = { ...file };
    delete rest.api_key;
    delete rest.base_url;
  } else {
    if (!file.profiles?.[name]) return false;
    const profiles = { ...file.profiles };
    delete profiles[name];
    rest = { ...file, profiles };
    if (Object.keys(profiles).length === 0) delete rest.profiles;
  }
  if (Object.keys(rest).length === 0) rmSync(profilePath(env), { force: true });
  else writeFile(rest, env);
  return true;
}

const nonEmpty = (v: string | undefined) => (v && v.trim() ? v.trim() : undefined);

export function resolveSettings(flags: { apiKey?: string | undefined; baseUrl?: string | undefined }, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const profile = readProfile(env);
  const keyCandidates: [string | undefined, ClientSettings["source"]["apiKey"]][] = [
    [nonEmpty(flags.apiKey), "flag"],
    [nonEmpty(env.AERIOX_API_KEY), "env"],
    [nonEmpty(profile.api_key), "profile"],
  ];
  const urlCandidates: [string | undefined, ClientSettings["source"]["baseUrl"]][] = [
    [nonEmpty(flags.baseUrl), "flag"],
    [nonEmpty(env.AERIOX_BASE_URL), "env"],
    [nonEmpty(profile.base_url), "profile"],
  ];
  const key = keyCandidates.find(([v]) => v !== undefined);
  const url = urlCandidates.find(([v]) => v !== undefined);
  const retries = Number(nonEmpty(env.AERIOX_MAX_RETRIES) ?? NaN);
  return {
    apiKey: key?.[0],
    baseUrl: (url?.[0] ?? DEFAULT_BASE_URL).replace(/\/+$/, ""),
    maxRetries: Number.isInteger(retries) && retries >= 0 ? retries : DEFAULT_MAX_RETRIES,
    source: { apiKey: key?.[1] ?? "none", baseUrl: url?.[1] ?? "default" },
  };
}

export const MISSING_KEY_HELP = `No API key: run \`${commandName()} login\`, set AERIOX_API_KEY, or pass --api-key (create one with \`${commandName()} keys create --workspace NAME\`).`;

/**
 * Client configuration: where the API is and which key to use.
 * Precedence: flags (`--api-key`, `--base-url`), then env (`AERIOX_API_KEY`,
 * `AERIOX_BASE_URL`), then the profile written by `aeriox login`
 * (`$XDG_CONFIG_HOME/aeriox/config.json`, default `~/.config/aeriox/config.json`,
 * file mode 0600 in a 0700 folder).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

export const DEFAULT_BASE_URL = "http://localhost:8080";

export interface Profile {
  base_url?: string;
  api_key?: string;
}

export interface ClientSettings {
  apiKey: string | undefined;
  baseUrl: string;
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

export function readProfile(env: NodeJS.ProcessEnv = process.env): Profile {
  try {
    const parsed = JSON.parse(readFileSync(profilePath(env), "utf8")) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as Profile) : {};
  } catch {
    return {};
  }
}

/** Writes the profile privately: folder 0700, file 0600 (also when they already existed). */
export function writeProfile(profile: Profile, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = profilePath(env);
  writeFileSync(file, JSON.stringify(profile, null, 2) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** Removes the stored profile; returns whether there was one. */
export function removeProfile(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = profilePath(env);
  try {
    readFileSync(file);
  } catch {
    return false;
  }
  rmSync(file, { force: true });
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
  return {
    apiKey: key?.[0],
    baseUrl: (url?.[0] ?? DEFAULT_BASE_URL).replace(/\/+$/, ""),
    source: { apiKey: key?.[1] ?? "none", baseUrl: url?.[1] ?? "default" },
  };
}

export const MISSING_KEY_HELP =
  "No API key: run `aeriox login`, set AERIOX_API_KEY, or pass --api-key (create one with `aeriox keys create --workspace NAME`).";

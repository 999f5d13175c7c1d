/**
 * How this `aeriox` was started, and the defaults that follow from it:
 *
 * - from the repository (`pnpm aeriox` runs the sources through tsx; `pnpm start` runs
 *   the bundle in `packages/cli/dist`): commands are spelled `pnpm aeriox …` and the
 *   data folder is the repository's `.aeriox`, as it always was;
 * - installed (`npm i -g @aeriox/cli`, the bundle in some node_modules): commands are
 *   spelled `aeriox …` and the data folder is per user, so `aeriox keys create` in any
 *   folder reaches the same database as `aeriox serve` started in another.
 *
 * DATA_DIR's default is decided here and only here (bin.ts applies it before any
 * command reads the environment); `packages/core/src/config.ts` keeps `./.aeriox` as
 * the default of the library, which tests and embedders call with DATA_DIR set.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type DataDirSource = "env" | "cwd" | "repository" | "user";

/** The repository root when running from a checkout of it, otherwise null. */
export function repositoryRoot(): string | null {
  // Set by the bundle's banner (tsup.config.ts); typed here so packages without core's declaration compile this file.
  const bundled = (globalThis as { __AERIOX_RESOURCES__?: string }).__AERIOX_RESOURCES__;
  // Sources: this file is packages/cli/src/invocation.ts. Bundle: resources are packages/cli/dist/resources/.
  const candidate = bundled ? path.resolve(bundled, "../../../..") : path.resolve(fileURLToPath(import.meta.url), "../../../..");
  return existsSync(path.join(candidate, "pnpm-workspace.yaml")) && existsSync(path.join(candidate, "packages/cli/package.json")) ? candidate : null;
}

/** The per-user data folder (XDG Base Directory): `$XDG_DATA_HOME/aeriox`, default `~/.local/share/aeriox`. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(homedir(), ".local", "share");
  return path.join(base, "aeriox");
}

/**
 * DATA_DIR when it is not set: a `.aeriox` folder in the working folder (an existing
 * project's data), else the repository's `.aeriox` when running from a checkout, else
 * the per-user folder.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): { dir: string; source: DataDirSource } {
  if (env.DATA_DIR && env.DATA_DIR.trim()) return { dir: path.resolve(cwd, env.DATA_DIR), source: "env" };
  const local = path.join(cwd, ".aeriox");
  if (existsSync(local)) return { dir: local, source: "cwd" };
  const repo = repositoryRoot();
  if (repo) return { dir: path.join(repo, ".aeriox"), source: "repository" };
  return { dir: userDataDir(env), source: "user" };
}

let appliedSource: DataDirSource = "env";

/** Sets DATA_DIR in `env` when it is unset (bin.ts, once, before the command runs). */
export function applyDataDirDefault(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): DataDirSource {
  const { dir, source } = defaultDataDir(env, cwd);
  if (source !== "env") env.DATA_DIR = dir;
  appliedSource = source;
  return source;
}

/** Whether DATA_DIR was chosen by the user (env) or by the default above. */
export function dataDirSource(): DataDirSource {
  return appliedSource;
}

/** The command as the user typed it, for hints: `pnpm aeriox` from the repository, `aeriox` when installed. */
export function commandName(env: NodeJS.ProcessEnv = process.env): string {
  if (env.npm_lifecycle_event === "aeriox" || repositoryRoot()) return "pnpm aeriox";
  return "aeriox";
}

/** How the user started the server, for "start it again with …" hints. */
export function serveCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.npm_lifecycle_event === "start" ? "pnpm start" : `${commandName(env)} serve`;
}

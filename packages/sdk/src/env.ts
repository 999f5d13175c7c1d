// Runtime-neutral helpers: no Node built-ins here, so the core runs in browsers, edge, Deno and Bun.

/** Reads an environment variable where one exists (Node, Bun, Deno with --allow-env); undefined elsewhere. */
export function readEnv(name: string): string | undefined {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> }; Deno?: { env?: { get(n: string): string | undefined } } };
  try {
    return g.process?.env?.[name]?.trim() || g.Deno?.env?.get(name)?.trim() || undefined;
  } catch {
    // Deno without env permission throws
    return undefined;
  }
}

/** What `aeriox login` stored: the key and the API it belongs to. */
export interface CliProfile {
  apiKey?: string;
  baseUrl?: string;
}

type FsLike = { readFileSync(file: string, encoding: "utf8"): string };
type OsLike = { homedir(): string };

/**
 * The profile the `aeriox` CLI writes with `aeriox login`: `$XDG_CONFIG_HOME/aeriox/config.json`
 * (default `~/.config/aeriox/config.json`). Its top-level `api_key`/`base_url` are the `default`
 * profile; `AERIOX_PROFILE=<name>` selects `profiles.<name>` (the CLI's `src/profile.ts` owns the
 * format; this reads it without importing the CLI). Node built-ins are reached through
 * `process.getBuiltinModule` (Node ≥ 20.16, Bun, Deno) so bundles for browsers and edge runtimes,
 * where there is no such file, never import them: there the result is empty.
 */
export function readCliProfile(): CliProfile {
  const g = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  const getBuiltin = g.process?.getBuiltinModule;
  if (typeof getBuiltin !== "function") return {};
  try {
    const fs = getBuiltin("node:fs") as FsLike | undefined;
    const os = getBuiltin("node:os") as OsLike | undefined;
    if (!fs || !os) return {};
    const xdg = readEnv("XDG_CONFIG_HOME");
    // Same rule as the CLI: a relative XDG_CONFIG_HOME is ignored (XDG Base Directory spec).
    const base = xdg && /^(\/|[A-Za-z]:[\\/])/.test(xdg) ? xdg : `${os.homedir()}/.config`;
    const file = JSON.parse(fs.readFileSync(`${base}/aeriox/config.json`, "utf8")) as Record<string, unknown> | null;
    if (!file || typeof file !== "object") return {};
    const name = readEnv("AERIOX_PROFILE") ?? "default";
    const profiles = file.profiles as Record<string, Record<string, unknown>> | undefined;
    const entry = name === "default" ? file : profiles?.[name];
    if (!entry || typeof entry !== "object") return {};
    const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
    const apiKey = str(entry.api_key);
    const baseUrl = str(entry.base_url);
    return { ...(apiKey && { apiKey }), ...(baseUrl && { baseUrl }) };
  } catch {
    // No file, unreadable, or not JSON: no profile.
    return {};
  }
}

/** RFC 4122 v4 id via WebCrypto; falls back to getRandomValues where randomUUID is missing (insecure contexts). */
export function uuid(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

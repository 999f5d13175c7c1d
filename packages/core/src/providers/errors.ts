/**
 * Internal failure of a provider call. Not an HTTP error: the job engine maps it to the
 * job's `error` (and decides retry vs. fail-and-refund from `retryable`).
 *
 * - client: the request was refused (provider 4xx, bad input, missing asset). Not retryable;
 *   `providerMessage` keeps the reason for the user.
 * - server: provider 5xx / 429 / network failure. Retryable.
 * - timeout: no answer in time. Retryable unless it was our own abort (cancel/deadline).
 * - nsfw: content blocked by the provider's safety checker.
 * - unavailable: not configured (missing key), key rejected, or circuit open.
 */
export type ProviderErrorKind = "client" | "server" | "timeout" | "nsfw" | "unavailable";

export interface ProviderErrorInit {
  retryable?: boolean;
  providerMessage?: string;
  status?: number;
  /** Stable snake_case code for the job's error (e.g. circuit_open, provider_unavailable). */
  code?: string;
  cause?: unknown;
}

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly retryable: boolean;
  readonly providerMessage: string;
  readonly status: number | undefined;
  readonly code: string;

  constructor(kind: ProviderErrorKind, message: string, init: ProviderErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ProviderError";
    this.kind = kind;
    this.retryable = init.retryable ?? (kind === "server" || kind === "timeout");
    this.providerMessage = init.providerMessage ?? message;
    this.status = init.status;
    this.code = init.code ?? defaultCode(kind);
  }
}

function defaultCode(kind: ProviderErrorKind): string {
  switch (kind) {
    case "client":
      return "provider_rejected";
    case "server":
      return "provider_error";
    case "timeout":
      return "provider_timeout";
    case "nsfw":
      return "nsfw_blocked";
    case "unavailable":
      return "provider_unavailable";
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}

/** HTTP status from a provider → our kind. 408/429/5xx are transient; other 4xx are the request's fault. */
export function errorFromStatus(provider: string, status: number, reason: string, cause?: unknown): ProviderError {
  if (status === 401 || status === 403) {
    // The server's key is wrong or lacks rights: not the user's fault, not fixed by retrying.
    return new ProviderError("unavailable", `${provider} rejected the server's credentials (HTTP ${status})`, { status, providerMessage: reason, retryable: false, cause });
  }
  if (status === 408 || status === 504) return new ProviderError("timeout", `${provider} timed out (HTTP ${status}): ${reason}`, { status, providerMessage: reason, cause });
  if (status === 429 || status >= 500) return new ProviderError("server", `${provider} failed (HTTP ${status}): ${reason}`, { status, providerMessage: reason, cause });
  return new ProviderError("client", `${provider} refused the request (HTTP ${status}): ${reason}`, { status, providerMessage: reason, cause });
}

/** Our own abort (job cancelled or past its deadline): not retryable, the engine knows why. */
export function abortedError(signal: AbortSignal): ProviderError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? "aborted");
  const isTimeout = signal.reason instanceof Error && signal.reason.name === "TimeoutError";
  return new ProviderError("timeout", `Provider call aborted: ${reason}`, { retryable: isTimeout, code: isTimeout ? "provider_timeout" : "aborted" });
}

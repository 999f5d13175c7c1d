/**
 * One logger for server, worker and CLI: JSON lines (pino). Secrets never reach a log
 * line, by two independent means:
 *   1. pino's `redact` blanks known secret-bearing fields (headers, OAuth and key fields,
 *      provider keys, webhook secrets) wherever our code or a library error puts them;
 *   2. every finished line passes a pattern pass before it is written: key and token
 *      shapes (`sk_live_…`, `rt_…`, `ac_…`, `whsec_…`, JWTs) and the configured secret
 *      values themselves (`redactValues`, called by the runtime with FAL_KEY & co.) are
 *      replaced wherever they appear — messages, error messages and stacks, paths, any
 *      field a redact path did not foresee.
 * The pass runs on the serialised line, so it also covers what pino's serializers produce
 * (an error's message, stack and properties), which a hook on the arguments would not; and
 * it blanks the string value of a secret-named field at any depth, which redact paths can
 * only do with wildcards — and each wildcard path costs pino several microseconds per line
 * (measured: 15 paths with 11 wildcards took 30 µs a line, these exact paths plus the
 * pass about 1 µs on top of pino's own ~7 µs).
 */
import { pino, type Logger } from "pino";

export type { Logger };

/** Field names whose value is a secret: exact redact paths at the top level, the line pass at any depth. */
const SECRET_FIELDS = [
  "apiKey",
  "api_key",
  "key",
  "new_key",
  "token",
  "access_token",
  "refresh_token",
  "id_token",
  "code_verifier",
  "client_secret",
  "password",
  "secret",
  "webhook_secret",
  "webhookSecret",
  "signing_secret",
  "authorization",
  "cookie",
  "FAL_KEY",
  "ELEVENLABS_API_KEY",
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "ASSET_URL_SECRET",
  "METRICS_TOKEN",
  "VOYAGE_API_KEY",
  "EMBEDDINGS_API_KEY",
];

/** Request headers that carry credentials. */
const SECRET_HEADERS = ["authorization", "x-api-key", "cookie", "set-cookie", "stripe-signature", "proxy-authorization"];

// No wildcards (see above): the usual places, exactly; anything deeper is the line pass's.
const SECRET_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_HEADERS.flatMap((h) => [`headers["${h}"]`, `req.headers["${h}"]`, `err.request.headers["${h}"]`, `err.config.headers["${h}"]`]),
];

/** `"<secret-named field>":"<string>"` anywhere in a serialised line (names compared case-insensitively). */
const SECRET_FIELD_VALUE = new RegExp(`"(${[...SECRET_FIELDS, ...SECRET_HEADERS].map((f) => f.replace(/[-]/g, "\\-")).join("|")})":"(?:[^"\\\\]|\\\\.)*"`, "gi");

/**
 * Key and token shapes that must never be printed, even inside free text: API keys,
 * OAuth refresh tokens and codes, Stripe keys and webhook secrets, JWTs (OAuth access
 * tokens, bearer tokens). One alternation: a single scan per line.
 */
const SECRET_PATTERN = /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9_-]+|\bwhsec_[A-Za-z0-9+/=_-]+|\b(?:rt|ac)_[A-Za-z0-9_-]{20,}|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
/** Cheap pre-check: most lines hold none of the prefixes, and `includes` beats the regex. */
const MAYBE_SECRET = ["_live_", "_test_", "whsec_", "rt_", "ac_", "eyJ"];

const CENSOR = "[REDACTED]";

export function redactSecrets(text: string): string {
  if (!MAYBE_SECRET.some((p) => text.includes(p))) return text;
  return text.replace(SECRET_PATTERN, CENSOR);
}

/** A destination that scrubs each line before it reaches the real one. */
class RedactingDestination {
  /** Configured secret values (provider keys, webhook and signing secrets): replaced verbatim. */
  readonly values = new Set<string>();
  constructor(private readonly target: pino.DestinationStream & { flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void }) {}

  write(line: string): void {
    let out = redactSecrets(line).replace(SECRET_FIELD_VALUE, `"$1":"${CENSOR}"`);
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(CENSOR);
    this.target.write(out);
  }

  flush(cb?: (err?: Error) => void): void {
    if (this.target.flush) this.target.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.target.flushSync?.();
  }
}

const destinations = new WeakMap<Logger, RedactingDestination>();

/**
 * Adds configured secret values (FAL_KEY, STRIPE_SECRET_KEY, …) to the logger's pattern
 * pass, so an upstream error echoing one cannot print it. Values shorter than 8
 * characters are ignored (they would blank ordinary words). No-op for a logger not made here.
 */
export function redactValues(logger: Logger, values: ReadonlyArray<string | undefined>): void {
  const destination = destinations.get(logger);
  if (!destination) return;
  for (const value of values) {
    if (!value || value.length < 8) continue;
    destination.values.add(value);
    // JSON escapes some characters: also match the value as it appears inside a JSON string.
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) destination.values.add(escaped);
  }
}

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream; name?: string } = {}): Logger {
  const target = (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ fd: 1, sync: false });
  const destination = new RedactingDestination(target);
  const logger = pino(
    {
      name: options.name ?? "aeriox",
      level: options.level ?? "info",
      redact: { paths: SECRET_PATHS, censor: CENSOR },
    },
    destination,
  );
  destinations.set(logger, destination);
  return logger;
}

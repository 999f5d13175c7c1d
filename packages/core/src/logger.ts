/**
 * One logger for server, worker and CLI. Secrets never reach a log line: known
 * secret-bearing fields are redacted by path, and `redactSecrets` scrubs free text.
 */
import { pino, type Logger } from "pino";

export type { Logger };

const SECRET_PATHS = [
  "req.headers.authorization",
  "req.headers['x-api-key']",
  "req.headers['stripe-signature']",
  "req.headers.cookie",
  "*.apiKey",
  "*.api_key",
  "*.key",
  "*.new_key",
  "*.token",
  "*.access_token",
  "*.refresh_token",
  "*.code_verifier",
  "*.client_secret",
  "*.password",
  "*.secret",
];

/** Key/token shapes that must never be printed even inside messages. */
const SECRET_PATTERNS = [/sk_(live|test)_[A-Za-z0-9_-]+/g, /whsec_[A-Za-z0-9]+/g, /rt_[A-Za-z0-9_-]{20,}/g, /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g];

export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((out, re) => out.replace(re, "[REDACTED]"), text);
}

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? "aeriox",
      level: options.level ?? "info",
      redact: { paths: SECRET_PATHS, censor: "[REDACTED]" },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === "string" ? redactSecrets(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** How the CLI prints: JSON when asked or when stdout is not a terminal, short text otherwise. */
export interface OutputOptions {
  json?: boolean;
}

export function wantsJson(options: OutputOptions): boolean {
  return options.json === true || !process.stdout.isTTY;
}

export function printResult(options: OutputOptions, value: unknown, human: () => string): void {
  process.stdout.write((wantsJson(options) ? JSON.stringify(value) : human()) + "\n");
}

/** A failure the user caused (bad flags, missing key): exit 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** A failure reported by the API or the runtime: exit 1. */
export class CommandError extends Error {
  readonly exitCode = 1;
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

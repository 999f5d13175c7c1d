/**
 * SIGTERM/SIGINT for the long-running commands (`aeriox serve`, `aeriox worker`): the first
 * signal stops gracefully within SHUTDOWN_TIMEOUT_SECONDS and exits 0 (1 when stopping
 * failed, or did not finish in time); a second signal exits at once, non-zero (128 + signal).
 */
const SIGNAL_EXIT: Record<"SIGINT" | "SIGTERM", number> = { SIGINT: 130, SIGTERM: 143 };

export function exitOnSignals(stop: (timeoutMs: number) => Promise<void>, o: { timeoutSeconds: number; say: (line: string) => void }): void {
  let stopping = false;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (stopping) {
      o.say(`Received ${signal} again; exiting now.`);
      process.exit(SIGNAL_EXIT[signal]);
    }
    stopping = true;
    o.say(`\nReceived ${signal}, shutting down (up to ${o.timeoutSeconds} s; ${signal === "SIGINT" ? "Ctrl-C" : "send it"} again to exit at once)…`);
    // The steps of stop() have their own budgets inside the timeout; this is the backstop for one that hangs.
    const backstop = setTimeout(() => {
      o.say(`Did not stop within ${o.timeoutSeconds} s; exiting.`);
      process.exit(1);
    }, o.timeoutSeconds * 1000);
    backstop.unref();
    stop(o.timeoutSeconds * 1000).then(
      () => process.exit(0),
      (err: unknown) => {
        o.say(`Stopping failed: ${(err as Error)?.message ?? String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
}

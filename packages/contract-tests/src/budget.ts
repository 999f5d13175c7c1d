/** Estimated spend of a run: calls that could take it past the limit are not made. */
export class Budget {
  spentUsd = 0;
  readonly skipped: string[] = [];
  constructor(readonly limitUsd: number) {}

  /** True when a call estimated at `usd` still fits; otherwise records why it was skipped. */
  allow(usd: number, what: string): boolean {
    if (!Number.isFinite(usd) || usd < 0 || this.spentUsd + usd > this.limitUsd) {
      this.skipped.push(`${what} (estimated $${Number.isFinite(usd) ? usd : "?"}, spent $${this.spentUsd.toFixed(6)} of $${this.limitUsd})`);
      return false;
    }
    return true;
  }

  /** Records what an accepted job reserved (its 202 body's `estimated_cost_usd`), else the estimate. */
  record(body: unknown, fallbackUsd: number): void {
    const reported = (body as { estimated_cost_usd?: unknown } | null)?.estimated_cost_usd;
    this.spentUsd += typeof reported === "number" && Number.isFinite(reported) ? reported : fallbackUsd;
  }
}

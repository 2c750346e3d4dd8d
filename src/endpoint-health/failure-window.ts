// The attempts one process made to one endpoint in the breaker's window, and whether they trip it. Each worker
// judges from its own attempts (no shared counter: the embedded store has no atomic increment across
// writers); the first to see the threshold opens the breaker for every worker through the store.
import type { BreakerSettings } from './settings';

export class FailureWindow {
  /** Attempt end times (ms) and whether each failed, oldest first. */
  private readonly outcomes: { at: number; failed: boolean }[] = [];

  /** Counts an attempt; `closedSince`: attempts before the breaker last closed no longer count. */
  record(at: number, failed: boolean, settings: BreakerSettings, closedSince = 0): boolean {
    this.outcomes.push({ at, failed });
    const from = Math.max(at - settings.window_s * 1000, closedSince);
    while (this.outcomes.length > 0 && this.outcomes[0].at < from) this.outcomes.shift();
    // Bounded: past min_attempts the oldest ones only dilute a rate the newest already decide.
    const keep = Math.max(settings.min_attempts, 1000);
    if (this.outcomes.length > keep) this.outcomes.splice(0, this.outcomes.length - keep);
    return this.trips(settings);
  }

  trips(settings: BreakerSettings): boolean {
    if (this.outcomes.length < settings.min_attempts) return false;
    const failed = this.outcomes.reduce((n, o) => n + (o.failed ? 1 : 0), 0);
    return failed * 100 >= settings.failure_rate_pct * this.outcomes.length;
  }

  clear(): void {
    this.outcomes.length = 0;
  }
}

/** One window per endpoint this process sends to; windows of endpoints gone quiet are dropped. */
export class FailureWindows {
  private readonly windows = new Map<string, { window: FailureWindow; lastAt: number }>();

  record(
    endpointId: string,
    at: number,
    failed: boolean,
    settings: BreakerSettings,
    closedSince = 0,
  ): boolean {
    let entry = this.windows.get(endpointId);
    if (!entry) {
      entry = { window: new FailureWindow(), lastAt: at };
      this.windows.set(endpointId, entry);
      if (this.windows.size > 10_000) this.prune(at);
    }
    entry.lastAt = at;
    return entry.window.record(at, failed, settings, closedSince);
  }

  clear(endpointId: string): void {
    this.windows.get(endpointId)?.window.clear();
  }

  private prune(now: number): void {
    for (const [id, { lastAt }] of this.windows) if (now - lastAt > 3_600_000) this.windows.delete(id);
  }
}

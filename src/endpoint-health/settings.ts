// An endpoint's health settings and the numbers derived from them: pure and free of imports, since the
// health workflow imports it (anything imported is bundled into every workflow's sandbox).

/** The circuit breaker of an endpoint; every field has a default, and an endpoint may override any of them. */
export interface BreakerSettings {
  /** Opens when at least this share of the attempts in the window failed... */
  failure_rate_pct: number;
  /** ...and the window holds at least this many attempts. */
  min_attempts: number;
  window_s: number;
  /** An endpoint whose breaker has stayed open this long is disabled (Svix: five days). */
  disable_after_s: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  failure_rate_pct: 50,
  min_attempts: 20,
  window_s: 60,
  disable_after_s: 5 * 24 * 3600,
};

/** Extra requests an idle endpoint may take at once beyond its steady rate (a token bucket's depth). */
export function rateBurst(ratePerS: number): number {
  return Math.max(2, Math.ceil(ratePerS / 10));
}

/** Probes of an open breaker: 5 s after it opened, then twice as long each time, at most every 5 minutes. */
export function probeDelayMs(failedProbes: number): number {
  return Math.min(5_000 * 2 ** failedProbes, 5 * 60_000);
}

/** How fast waiting deliveries are let go when an endpoint has no rate limit of its own. */
export const DEFAULT_DRAIN_PER_S = 50;

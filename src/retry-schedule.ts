// The one place that turns an endpoint's retry settings into Temporal RetryPolicies and delays.
// Pure and deterministic: the workflow imports it.
import type { RetryPolicy } from '@temporalio/common';

export interface RetrySettings {
  /** Attempts in all, the first one included. */
  max_attempts: number;
  /** Delay after the first failed attempt. */
  initial_interval_ms: number;
  backoff_coefficient: number;
  max_interval_ms: number;
}

/**
 * 15 attempts: 5 s, 15 s, 45 s, 2.25 min, 6.75 min, 20 min, 1 h, 3 h, 9.1 h, then every 12 h:
 * the last attempt happens about 3.1 days after the first.
 */
export const DEFAULT_RETRY: RetrySettings = {
  max_attempts: 15,
  initial_interval_ms: 5_000,
  backoff_coefficient: 3,
  max_interval_ms: 12 * 60 * 60 * 1000,
};

/** Upper bound on a receiver's Retry-After, whatever the endpoint settings say. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** Delay before the next attempt once `failedAttempts` attempts (>= 1) have failed. */
export function backoffMs(settings: RetrySettings, failedAttempts: number): number {
  const raw = settings.initial_interval_ms * settings.backoff_coefficient ** Math.max(0, failedAttempts - 1);
  return Math.round(Math.min(raw, settings.max_interval_ms));
}

/** Delay honouring a Retry-After header: never beyond the endpoint's max interval nor a day. */
export function retryAfterDelayMs(settings: RetrySettings, retryAfterMs: number): number {
  return Math.max(0, Math.min(retryAfterMs, settings.max_interval_ms, MAX_RETRY_AFTER_MS));
}

/**
 * RetryPolicy of an activity schedule that starts after `attemptsBefore` attempts and may make `attempts`
 * more. Temporal waits initialInterval * coefficient^(k-1) after the schedule's k-th failure, which is
 * backoffMs(attemptsBefore + k) as long as the schedule starts at backoffMs(attemptsBefore + 1).
 */
export function retryPolicyFor(
  settings: RetrySettings,
  attemptsBefore: number,
  attempts: number,
): RetryPolicy {
  const initial = Math.max(1, backoffMs(settings, attemptsBefore + 1));
  return {
    initialInterval: initial,
    backoffCoefficient: settings.backoff_coefficient,
    maximumInterval: Math.max(initial, settings.max_interval_ms),
    maximumAttempts: Math.max(1, attempts),
  };
}

/** Total time from the first to the last attempt when every attempt fails at once. */
export function scheduleSpanMs(settings: RetrySettings): number {
  let total = 0;
  for (let failed = 1; failed < settings.max_attempts; failed++) total += backoffMs(settings, failed);
  return total;
}

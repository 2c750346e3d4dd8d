import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backoffMs,
  DEFAULT_RETRY,
  MAX_RETRY_AFTER_MS,
  retryAfterDelayMs,
  retryPolicyFor,
  scheduleSpanMs,
} from '../../src/retry-schedule';

const HOUR = 3_600_000;

describe('retry schedule', () => {
  it('spreads the default schedule over about three days', () => {
    const span = scheduleSpanMs(DEFAULT_RETRY);
    assert.ok(span > 2.5 * 24 * HOUR && span < 3.5 * 24 * HOUR, `span ${span / HOUR} h`);
    assert.equal(backoffMs(DEFAULT_RETRY, 1), 5_000);
    assert.equal(backoffMs(DEFAULT_RETRY, 2), 15_000);
    assert.equal(backoffMs(DEFAULT_RETRY, 14), 12 * HOUR);
  });

  it('caps each delay at max_interval_ms', () => {
    const settings = {
      max_attempts: 10,
      initial_interval_ms: 100,
      backoff_coefficient: 10,
      max_interval_ms: 5_000,
    };
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffMs(settings, n)),
      [100, 1000, 5000, 5000],
    );
  });

  it('builds RetryPolicies whose Temporal backoff continues the same schedule', () => {
    const settings = {
      max_attempts: 6,
      initial_interval_ms: 1000,
      backoff_coefficient: 2,
      max_interval_ms: 60_000,
    };
    const first = retryPolicyFor(settings, 0, 1);
    assert.deepEqual(first, {
      initialInterval: 1000,
      backoffCoefficient: 2,
      maximumInterval: 60_000,
      maximumAttempts: 1,
    });
    // A schedule starting after one failed attempt: Temporal's k-th wait is initial * 2^(k-1) = backoffMs(1 + k).
    const rest = retryPolicyFor(settings, 1, 5);
    assert.equal(rest.initialInterval, backoffMs(settings, 2));
    assert.equal(rest.maximumAttempts, 5);
    for (let k = 1; k <= 4; k++) {
      const temporalWait = Math.min(
        (rest.initialInterval as number) * (rest.backoffCoefficient as number) ** (k - 1),
        rest.maximumInterval as number,
      );
      assert.equal(temporalWait, backoffMs(settings, 1 + k));
    }
  });

  it('bounds Retry-After by the endpoint max interval and a day', () => {
    assert.equal(retryAfterDelayMs(DEFAULT_RETRY, 30_000), 30_000);
    assert.equal(retryAfterDelayMs({ ...DEFAULT_RETRY, max_interval_ms: 10_000 }, 30_000), 10_000);
    assert.equal(
      retryAfterDelayMs({ ...DEFAULT_RETRY, max_interval_ms: 7 * 24 * HOUR }, 3 * 24 * HOUR),
      MAX_RETRY_AFTER_MS,
    );
    assert.equal(retryAfterDelayMs(DEFAULT_RETRY, -5), 0);
  });
});

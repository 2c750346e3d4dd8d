import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureWindow, FailureWindows } from '../../src/endpoint-health/failure-window';
import { DEFAULT_BREAKER, probeDelayMs, rateBurst } from '../../src/endpoint-health/settings';

const settings = { ...DEFAULT_BREAKER, min_attempts: 4, failure_rate_pct: 50, window_s: 60 };

describe('circuit breaker window', () => {
  it('trips once the window holds min_attempts and at least the failure rate failed', () => {
    const w = new FailureWindow();
    assert.equal(w.record(0, true, settings), false);
    assert.equal(w.record(1, true, settings), false);
    assert.equal(w.record(2, true, settings), false, 'three attempts are fewer than min_attempts');
    assert.equal(w.record(3, false, settings), true, '3 of 4 failed');
  });

  it('does not trip below the failure rate', () => {
    const w = new FailureWindow();
    for (let n = 0; n < 10; n++) assert.equal(w.record(n, n % 3 === 1, settings), false, `attempt ${n}`);
  });

  it('forgets attempts older than the window, and those before the breaker last closed', () => {
    const w = new FailureWindow();
    for (let n = 0; n < 3; n++) w.record(n, true, settings);
    assert.equal(w.record(61_000, true, settings), false, 'the three old failures left the window');
    const again = new FailureWindow();
    for (let n = 0; n < 3; n++) again.record(n, true, settings);
    assert.equal(
      again.record(10, true, settings, 5),
      false,
      'closed at 5: the earlier failures count no more',
    );
  });

  it('keeps one window per endpoint', () => {
    const windows = new FailureWindows();
    for (let n = 0; n < 3; n++) windows.record('ep_a', n, true, settings);
    assert.equal(windows.record('ep_b', 3, true, settings), false);
    assert.equal(windows.record('ep_a', 4, true, settings), true);
    windows.clear('ep_a');
    assert.equal(windows.record('ep_a', 5, true, settings), false);
  });
});

describe('health settings', () => {
  it('allows a burst of a tenth of the rate, at least two', () => {
    assert.deepEqual([1, 10, 20, 100, 1000].map(rateBurst), [2, 2, 2, 10, 100]);
  });

  it('probes 5 s after opening, then twice as long each time, at most every 5 minutes', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 6, 7, 20].map(probeDelayMs),
      [5_000, 10_000, 20_000, 40_000, 300_000, 300_000, 300_000],
    );
  });
});

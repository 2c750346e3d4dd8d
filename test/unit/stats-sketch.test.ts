import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addTo, bucketOf, merge, quantile, type Sketch } from '../../src/stats/sketch';

/** A deterministic pseudo-random sequence, so that a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const exact = (sorted: number[], q: number) => sorted[Math.ceil(q * sorted.length) - 1];

describe('duration sketch', () => {
  it('puts each duration in a bucket 10 % wide', () => {
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(0.5), 0);
    assert.equal(bucketOf(1), 1);
    for (const ms of [1.5, 7, 42, 999, 65_000]) {
      const i = bucketOf(ms);
      assert.ok(1.1 ** (i - 1) <= ms && ms < 1.1 ** i, `${ms} in bucket ${i}`);
    }
  });

  it('reads percentiles within 5 % of the exact ones, merged from parts as from the whole', () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      const values = Array.from({ length: 2000 }, () => Math.exp(next() * 9) + 1);
      const whole: Sketch = {};
      const parts: Sketch[] = [{}, {}, {}];
      values.forEach((v, n) => {
        addTo(whole, v);
        addTo(parts[n % 3], v);
      });
      const merged: Sketch = {};
      for (const p of parts) merge(merged, p);
      assert.deepEqual(merged, whole);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0.5, 0.95, 0.99]) {
        const got = quantile(merged, q) as number;
        const want = exact(sorted, q);
        assert.ok(Math.abs(got - want) / want <= 0.05 + 0.001, `seed ${seed} q ${q}: ${got} vs ${want}`);
      }
    }
  });

  it('has no percentile when empty, and 0 for durations under a millisecond', () => {
    assert.equal(quantile({}, 0.5), null);
    const s: Sketch = {};
    addTo(s, 0.2, 3);
    assert.equal(quantile(s, 0.95), 0);
  });
});

// A mergeable sketch of attempt durations: counts per logarithmic bucket (each 10 % wider than the last), so
// that any number of them add up and a percentile read from the sum is within 5 % of the true one.

const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);

/** Bucket of a duration: 0 holds [0, 1) ms, bucket i >= 1 holds [1.1^(i-1), 1.1^i) ms. */
export function bucketOf(durationMs: number): number {
  if (durationMs < 1) return 0;
  return Math.floor(Math.log(durationMs) / LOG_GROWTH) + 1;
}

/** Counts by bucket index (as a string key, the way a document stores them). */
export type Sketch = Record<string, number>;

export function addTo(sketch: Sketch, durationMs: number, count = 1): void {
  const key = String(bucketOf(durationMs));
  sketch[key] = (sketch[key] ?? 0) + count;
}

export function merge(into: Sketch, from: Sketch): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

/** The q-quantile (0 < q <= 1), as the middle of its bucket (geometric); null for an empty sketch. */
export function quantile(sketch: Sketch, q: number): number | null {
  const buckets = Object.entries(sketch)
    .map(([key, count]) => [Number(key), count] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((n, [, count]) => n + count, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [index, count] of buckets) {
    seen += count;
    if (seen >= rank) {
      if (index === 0) return 0;
      return Math.round(GROWTH ** (index - 0.5) * 10) / 10;
    }
  }
  return null;
}

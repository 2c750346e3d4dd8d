// How hookflow judges a receiver's answer. Pure: unit-tested without a network.

export type Verdict =
  | { kind: 'success' }
  /** Worth another attempt; `retryAfterMs` when the receiver said when. */
  | { kind: 'retry'; retryAfterMs: number | null }
  /** Not worth another attempt. */
  | { kind: 'fail' }
  /** 410 Gone: fail and disable the endpoint. */
  | { kind: 'gone' };

/** What one webhook request came to. */
export interface RequestOutcome {
  statusCode: number | null;
  error: 'timeout' | 'network' | 'blocked' | null;
  errorMessage: string | null;
  response: string | null;
  retryAfter: string | undefined;
  durationMs: number;
}

const RETRIED_4XX = new Set([408, 425, 429]);

export function verdictOf(outcome: RequestOutcome): Verdict {
  // A blocked target is a setting to change, not a passing fault: fail at once.
  if (outcome.error === 'blocked') return { kind: 'fail' };
  if (outcome.statusCode === null) return { kind: 'retry', retryAfterMs: null };
  return classifyStatus(outcome.statusCode, outcome.retryAfter);
}

export function classifyStatus(
  statusCode: number,
  retryAfter: string | undefined,
  now = Date.now(),
): Verdict {
  if (statusCode >= 200 && statusCode < 300) return { kind: 'success' };
  if (statusCode === 410) return { kind: 'gone' };
  if (statusCode === 429 || statusCode === 503) {
    return { kind: 'retry', retryAfterMs: parseRetryAfter(retryAfter, now) };
  }
  // 3xx: redirects are never followed, but a temporary redirect (maintenance page) may go away, so retry.
  if (statusCode >= 500 || (statusCode >= 300 && statusCode < 400) || RETRIED_4XX.has(statusCode)) {
    return { kind: 'retry', retryAfterMs: null };
  }
  return { kind: 'fail' };
}

/** Retry-After is either delay-seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date names its day and month; Date.parse alone would take "-3" for a year.
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** Outcome class for metrics and attempt documents. */
export function outcomeClass(statusCode: number | null, error: RequestOutcome['error']): string {
  if (error) return error;
  if (statusCode === null) return 'network';
  return `${Math.floor(statusCode / 100)}xx`;
}

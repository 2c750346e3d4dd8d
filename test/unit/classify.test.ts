import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyStatus, outcomeClass, parseRetryAfter } from '../../activities/classify';

describe('classifying receiver answers', () => {
  it('accepts every 2xx', () => {
    for (const code of [200, 201, 202, 204, 299])
      assert.deepEqual(classifyStatus(code, undefined), { kind: 'success' });
  });

  it('retries 408, 425, 429, 5xx and 3xx, and fails other 4xx', () => {
    for (const code of [408, 425, 429, 500, 502, 503, 504, 599, 301, 302, 307]) {
      assert.equal(classifyStatus(code, undefined).kind, 'retry', String(code));
    }
    for (const code of [400, 401, 403, 404, 405, 409, 413, 422]) {
      assert.equal(classifyStatus(code, undefined).kind, 'fail', String(code));
    }
    assert.equal(classifyStatus(410, undefined).kind, 'gone');
  });

  it('honours Retry-After on 429 and 503 only', () => {
    assert.deepEqual(classifyStatus(429, '7'), { kind: 'retry', retryAfterMs: 7000 });
    assert.deepEqual(classifyStatus(503, '1'), { kind: 'retry', retryAfterMs: 1000 });
    assert.deepEqual(classifyStatus(500, '7'), { kind: 'retry', retryAfterMs: null });
  });

  it('parses delay-seconds and HTTP dates, ignoring junk', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter('-3', now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
  });

  it('names outcome classes', () => {
    assert.equal(outcomeClass(204, null), '2xx');
    assert.equal(outcomeClass(503, null), '5xx');
    assert.equal(outcomeClass(null, 'timeout'), 'timeout');
    assert.equal(outcomeClass(null, null), 'network');
  });
});

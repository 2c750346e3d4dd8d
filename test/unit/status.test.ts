import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DELIVERY_EVENTS,
  DELIVERY_STATUSES,
  type DeliveryEvent,
  type DeliveryStatus,
  FINAL_STATUSES,
  isFinal,
  refusal,
  statusAfterAttempt,
  transition,
} from '../../src/deliveries/status';

// Written out cell by cell, so that a change to the machine has to be made here too, on purpose.
const EXPECTED: Record<DeliveryStatus, Record<DeliveryEvent, DeliveryStatus | null>> = {
  scheduled: {
    begin: 'in_progress',
    succeed: null,
    retry: null,
    fail: 'failed',
    cancel: 'cancelled',
    retryNow: 'scheduled',
  },
  pending: {
    begin: 'in_progress',
    succeed: null,
    retry: null,
    fail: 'failed',
    cancel: 'cancelled',
    retryNow: null,
  },
  in_progress: {
    begin: 'in_progress',
    succeed: 'succeeded',
    retry: 'retrying',
    fail: 'failed',
    cancel: 'cancelled',
    retryNow: null,
  },
  retrying: {
    begin: 'in_progress',
    succeed: null,
    retry: null,
    fail: 'failed',
    cancel: 'cancelled',
    retryNow: 'retrying',
  },
  succeeded: { begin: null, succeed: null, retry: null, fail: null, cancel: null, retryNow: null },
  failed: { begin: null, succeed: null, retry: null, fail: null, cancel: null, retryNow: null },
  cancelled: { begin: null, succeed: null, retry: null, fail: null, cancel: null, retryNow: null },
};

describe('delivery status machine', () => {
  for (const from of DELIVERY_STATUSES) {
    for (const event of DELIVERY_EVENTS) {
      it(`${from} × ${event} → ${EXPECTED[from][event] ?? 'refused'}`, () => {
        assert.equal(transition(from, event), EXPECTED[from][event]);
      });
    }
  }

  it('final statuses are exactly those no event leaves', () => {
    assert.deepEqual([...FINAL_STATUSES], ['succeeded', 'failed', 'cancelled']);
    for (const status of DELIVERY_STATUSES) assert.equal(isFinal(status), FINAL_STATUSES.includes(status));
  });

  it('every status is reachable from where a delivery starts: pending, or scheduled', () => {
    const reached = new Set<DeliveryStatus>(['pending', 'scheduled']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const from of reached)
        for (const event of DELIVERY_EVENTS) {
          const to = transition(from, event);
          if (to && !reached.has(to)) {
            reached.add(to);
            grew = true;
          }
        }
    }
    assert.deepEqual([...reached].sort(), [...DELIVERY_STATUSES].sort());
  });

  it('says in words why a cancel or a retry now is refused, and nothing when it is allowed', () => {
    for (const status of DELIVERY_STATUSES) {
      assert.equal(refusal(status, 'cancel') === null, !isFinal(status));
      assert.equal(refusal(status, 'retryNow') === null, status === 'retrying' || status === 'scheduled');
    }
    assert.equal(refusal('succeeded', 'cancel'), 'delivery is already succeeded');
    assert.equal(
      refusal('pending', 'retryNow'),
      'only a retrying or scheduled delivery can be retried now; this one is pending',
    );
  });

  it('maps every attempt verdict, last attempt or not, to the next status', () => {
    const cases: [Parameters<typeof statusAfterAttempt>[0], boolean, DeliveryStatus][] = [
      [{ kind: 'success' }, false, 'succeeded'],
      [{ kind: 'success' }, true, 'succeeded'],
      [{ kind: 'retry', retryAfterMs: null }, false, 'retrying'],
      [{ kind: 'retry', retryAfterMs: 5_000 }, false, 'retrying'],
      [{ kind: 'retry', retryAfterMs: null }, true, 'failed'],
      [{ kind: 'fail' }, false, 'failed'],
      [{ kind: 'fail' }, true, 'failed'],
      [{ kind: 'gone' }, false, 'failed'],
      [{ kind: 'gone' }, true, 'failed'],
    ];
    for (const [verdict, last, expected] of cases) {
      assert.equal(statusAfterAttempt(verdict, last), expected, `${verdict.kind}, last ${last}`);
    }
  });
});

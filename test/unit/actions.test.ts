// The billable-action count of bench/actions.ts, on recorded histories whose actions are known by hand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { billableActions } from '../../bench/actions';

const history = (file: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', 'histories', file), 'utf8')).events;

describe('billable actions', () => {
  it('of a delivery that succeeds at once: the start and its local first attempt, nothing else', () => {
    assert.deepEqual(billableActions(history('4-actions/succeeded.json')), {
      start: 1,
      activity: 0,
      'local activities': 1,
      timer: 0,
      signal: 0,
      'search attributes': 0,
    });
    // Before 4-actions, success set the status search attribute too.
    assert.equal(billableActions(history('1-baseline/succeeded.json'))['search attributes'], 1);
  });

  it('count an activity retried by Temporal once per attempt, and timers and signals', () => {
    const counts = billableActions(history('1-baseline/cancelled-in-activity-backoff.json'));
    assert.equal(counts.activity, 2);
    assert.equal(counts.signal, 1);
    assert.equal(counts.timer, 1);
  });
});

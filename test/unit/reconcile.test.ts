// How the view reconciler reads the way a delivery run closed in Temporal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closedRunOutcome } from '../../src/deliveries/reconcile';
import { TEMPORAL_CANCEL_ERROR } from '../../src/delivery-contract';

describe('closedRunOutcome', () => {
  it('names a termination with its reason and who asked', () => {
    assert.deepEqual(
      closedRunOutcome({
        workflowExecutionTerminatedEventAttributes: { reason: 'receiver retired', identity: 'ops@host' },
      }),
      { status: 'failed', error: 'terminated in Temporal: receiver retired (by ops@host)' },
    );
    assert.deepEqual(closedRunOutcome({ workflowExecutionTerminatedEventAttributes: {} }), {
      status: 'failed',
      error: 'terminated in Temporal',
    });
  });

  it('fails a timed-out or failed run, and cancels a cancelled one', () => {
    assert.equal(closedRunOutcome({ workflowExecutionTimedOutEventAttributes: {} })?.status, 'failed');
    assert.deepEqual(
      closedRunOutcome({ workflowExecutionFailedEventAttributes: { failure: { message: 'boom' } } }),
      { status: 'failed', error: 'workflow failed in Temporal: boom' },
    );
    assert.deepEqual(closedRunOutcome({ workflowExecutionCanceledEventAttributes: {} }), {
      status: 'cancelled',
      error: TEMPORAL_CANCEL_ERROR,
    });
  });

  it('leaves runs that hookflow code ended to that code', () => {
    assert.equal(closedRunOutcome({}), null);
  });
});

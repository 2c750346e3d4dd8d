// Signals to a running delivery workflow: cancel (stop now, even mid-backoff) and retryNow (skip the backoff).
import { WorkflowNotFoundError } from '@temporalio/client';
import { FINAL_STATUSES } from '../delivery-contract';
import { conflict } from '../http/errors';
import type { DeliveryDoc } from './model';
import type { TemporalTarget } from './start';

export async function signalDelivery(
  temporal: TemporalTarget,
  delivery: DeliveryDoc,
  signal: 'cancel' | 'retryNow',
): Promise<void> {
  if (signal === 'cancel' && FINAL_STATUSES.includes(delivery.status)) {
    throw conflict(`delivery is already ${delivery.status}`);
  }
  if (signal === 'retryNow' && delivery.status !== 'retrying') {
    throw conflict(`only a retrying delivery can be retried now; this one is ${delivery.status}`);
  }
  try {
    await temporal.client.workflow.getHandle(delivery.workflow_id).signal(signal);
  } catch (err) {
    // The view lags the workflow by a moment: a workflow that already closed is final.
    if (err instanceof WorkflowNotFoundError) throw conflict('delivery has already finished');
    throw err;
  }
}

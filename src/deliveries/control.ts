// Signals to a running delivery workflow: cancel (stop now, even mid-backoff) and retryNow (skip the backoff).
import { WorkflowNotFoundError } from '@temporalio/client';
import { conflict } from '../http/errors';
import type { DeliveryDoc } from './model';
import type { TemporalTarget } from './start';
import { refusal } from './status';

export async function signalDelivery(
  temporal: TemporalTarget,
  delivery: DeliveryDoc,
  signal: 'cancel' | 'retryNow',
): Promise<void> {
  const refused = refusal(delivery.status, signal);
  if (refused) throw conflict(refused);
  try {
    await temporal.client.workflow.getHandle(delivery.workflow_id).signal(signal);
  } catch (err) {
    // The view lags the workflow by a moment: a workflow that already closed is final.
    if (err instanceof WorkflowNotFoundError) throw conflict('delivery has already finished');
    throw err;
  }
}

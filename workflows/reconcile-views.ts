// Started by the reconcile schedule (src/deliveries/reconcile.ts): one pass over the delivery workflows that
// ended in Temporal without hookflow code (terminate, timeout), recording their outcome on the views.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { reconcileViews } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 3 },
});

export async function reconcileViewsWorkflow(): Promise<{ checked: number; recorded: number }> {
  return reconcileViews();
}

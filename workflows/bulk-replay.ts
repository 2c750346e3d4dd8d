// A bulk replay (POST /v1/deliveries/replay) or endpoint recovery (POST /v1/endpoints/{id}/recover): plans
// its pages once (the matching deliveries' ids, in id order), replays one page per activity, and continues
// as new every few pages. Each replayed delivery's id is derived from (operation, original delivery), so a
// page retried after a crash never replays a delivery twice.
import { continueAsNew, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type BulkReplayInput, PAGES_PER_RUN } from '../src/operations/contract';

export const cancelOperationSignal = defineSignal('cancel');

const retry = { initialInterval: '1 second', maximumInterval: '30 seconds' };
const { planReplayPages, finishOperation } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry,
});
// A page heartbeats after each delivery: when its worker dies, another takes the page over within seconds.
const { replayPage } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry,
});

export async function bulkReplayWorkflow(input: BulkReplayInput): Promise<void> {
  let cancelled = false;
  setHandler(cancelOperationSignal, () => {
    cancelled = true;
  });
  const pages = input.pages ?? (await planReplayPages(input.operationId));

  let progress = input.progress;
  for (let n = 0; n < PAGES_PER_RUN; n++) {
    // A cancel stops the operation between pages.
    if (cancelled) {
      await finishOperation({ operationId: input.operationId, status: 'cancelled' });
      return;
    }
    if (progress.page >= pages) {
      await finishOperation({ operationId: input.operationId, status: 'completed' });
      return;
    }
    progress = await replayPage({ operationId: input.operationId, progress });
  }
  await continueAsNew<typeof bulkReplayWorkflow>({ operationId: input.operationId, progress, pages });
}

// Started every hour by the retention schedule (src/retention/expire.ts): one pass over every project, a page
// per activity, continuing as new every so many pages; a run that fails is resumed from its cursor.
import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NO_RETENTION_COUNTS, type RetentionCounts, type RetentionCursor } from '../src/retention/contract';

const { retentionStep } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute' },
});

const STEPS_PER_RUN = 100;

export async function retentionWorkflow(
  cursor: RetentionCursor = { projectId: null, phase: 'deliveries', after: null },
  totals: RetentionCounts = NO_RETENTION_COUNTS,
): Promise<RetentionCounts> {
  let at = cursor;
  const sum = { ...totals };
  for (let step = 0; step < STEPS_PER_RUN; step++) {
    const { next, counts } = await retentionStep(at);
    // (A count an older worker's step did not report adds nothing.)
    for (const key of Object.keys(sum) as (keyof RetentionCounts)[]) sum[key] += counts[key] ?? 0;
    if (!next) return sum;
    at = next;
  }
  return continueAsNew<typeof retentionWorkflow>(at, sum);
}

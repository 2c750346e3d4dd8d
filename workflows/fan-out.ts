// A large publish's or event replay's fan-out: one activity per page of recipients, continuing as new every few pages.
import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FanOutInput } from '../src/events/fan-out-contract';

const { startFanOutPage } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

const PAGES_PER_RUN = 20;

export async function fanOutWorkflow(input: FanOutInput): Promise<void> {
  let page = input.page;
  for (let n = 0; n < PAGES_PER_RUN && page < input.pages; n++, page++) {
    await startFanOutPage({ eventId: input.eventId, page, replayId: input.replayId });
  }
  if (page < input.pages) await continueAsNew<typeof fanOutWorkflow>({ ...input, page });
}

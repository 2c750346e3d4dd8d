// hookflow's housekeeping runs as Temporal Schedules (visible in the UI's Schedules tab, their runs durable):
// the view reconciler and retention. Every worker makes sure they exist at start-up.
import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';

export interface IntervalSchedule {
  scheduleId: string;
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  everyMs: number;
}

/**
 * Creates the schedule, or brings an existing one to this interval and task queue. A run is skipped while
 * the previous one is still going.
 */
export async function ensureIntervalSchedule(client: Client, schedule: IntervalSchedule): Promise<void> {
  const action = {
    type: 'startWorkflow' as const,
    workflowType: schedule.workflowType,
    workflowId: schedule.workflowId,
    taskQueue: schedule.taskQueue,
    args: [] as [],
  };
  const spec = { intervals: [{ every: schedule.everyMs }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' };
  try {
    await client.schedule.create({ scheduleId: schedule.scheduleId, spec, action, policies });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule
      .getHandle(schedule.scheduleId)
      .update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, ...policies } }));
  }
}

// The Temporal floors: one workflow running one no-op activity, the least any workflow-per-delivery design
// with a regular activity can cost on this server; and the same with a local activity, which is how
// hookflow makes a delivery's first attempt.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

interface FloorActivities {
  noop(id: string): Promise<void>;
}

const { noop } = proxyActivities<FloorActivities>({ startToCloseTimeout: '30 seconds' });
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '30 seconds' });

export async function floorWorkflow(id: string): Promise<void> {
  await noop(id);
}

export async function floorLocalWorkflow(id: string): Promise<void> {
  await local.noop(id);
}

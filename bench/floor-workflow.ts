// The Temporal floor: one workflow running one no-op activity, the least any workflow-per-delivery design
// can cost on this server.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(id: string): Promise<void> }>({ startToCloseTimeout: '30 seconds' });

export async function floorWorkflow(id: string): Promise<void> {
  await noop(id);
}

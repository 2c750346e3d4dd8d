// One round: hookflow, then the regular and the local-activity Temporal floors, on the same servers, each
// once the servers are idle.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Receiver } from '../test/helpers/receiver';
import { measureTemporalFloor } from './floors';
import { measureHookflow, type Servers } from './hookflow';
import { type Receipt, settle } from './measure';
import type { BenchOptions } from './options';
import { summarizeProfile } from './profile';

export interface BenchReceiver {
  receiver: Receiver;
  receipts: Receipt[];
}

export async function measureRound(
  options: BenchOptions,
  servers: Servers,
  { receiver, receipts }: BenchReceiver,
  serverCpu: () => number[],
  round: number,
) {
  const { profileDir, roles } = options;
  receipts.length = 0;
  await settle(serverCpu);
  const hookflowCpuBefore = serverCpu();
  const hookflowRun = await measureHookflow(options, servers, receiver.url(''), receipts);
  const [temporalCpu = 0, ferretCpu = 0] = serverCpu().map((cpu, i) => cpu - hookflowCpuBefore[i]);
  const hookflow = {
    ...hookflowRun,
    temporalServerCpuSeconds: temporalCpu,
    ferretdbCpuSeconds: ferretCpu,
    profiles: profileDir
      ? Object.fromEntries(roles.map((role) => [role, summarizeProfile(join(profileDir, role))]))
      : null,
  };
  if (hookflow.profiles) process.stdout.write(`${JSON.stringify(hookflow.profiles, null, 2)}\n`);
  // Each round's profiles are its own: the next round's processes write theirs afresh.
  for (const role of profileDir ? roles : [])
    rmSync(join(profileDir as string, role), { recursive: true, force: true });
  const measureFloor = async (workflowType: Parameters<typeof measureTemporalFloor>[2]) => {
    await settle(serverCpu);
    const floorCpuBefore = serverCpu();
    const floorRun = await measureTemporalFloor(options, servers, workflowType);
    return { ...floorRun, temporalServerCpuSeconds: (serverCpu()[0] ?? 0) - (floorCpuBefore[0] ?? 0) };
  };
  const temporalFloor = await measureFloor('floorWorkflow');
  const temporalLocalFloor = await measureFloor('floorLocalWorkflow');
  const ratios = {
    hookflowToTemporalFloor: hookflow.deliveriesPerSecond / temporalFloor.workflowsPerSecond,
    hookflowToTemporalLocalFloor: hookflow.deliveriesPerSecond / temporalLocalFloor.workflowsPerSecond,
    p50LatencyToTemporalFloor:
      (hookflow.publishToReceiptMs.p50 ?? 0) / Math.max(1, temporalFloor.startToActivityMs.p50 ?? 1),
  };
  return { round, hookflow, temporalFloor, temporalLocalFloor, ratios };
}

export type RoundResult = Awaited<ReturnType<typeof measureRound>>;

// One round: hookflow, then the regular and the local-activity Temporal floors, on the same servers, each
// once the servers are idle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startTemporalDevServer } from '../src/embedded';
import { createLogger } from '../src/logger';
import { connectTemporalClient } from '../src/temporal';
import type { Receiver } from '../test/helpers/receiver';
import { HOOKFLOW_HOME } from '../test/helpers/stack';
import { measureTemporalFloor } from './floors';
import { measureHookflow, type Servers } from './hookflow';
import { processUsage, type Receipt, settle } from './measure';
import type { BenchOptions } from './options';
import { summarizeProfile } from './profile';
import { startServerProfile } from './server-profile';

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
  /** The embedded Temporal server's pid, for --profile. */
  temporalPid: number | null,
) {
  const { profileDir, roles } = options;
  const measure = async (endpointSettings: object = {}, eventType: object | null = null) => {
    receipts.length = 0;
    await settle(serverCpu);
    const cpuBefore = serverCpu();
    const serverProfile = profileDir && temporalPid ? startServerProfile(temporalPid, profileDir) : null;
    const run = await measureHookflow(
      options,
      servers,
      receiver.url(''),
      receipts,
      endpointSettings,
      eventType,
    );
    const [temporalCpu = 0, ferretCpu = 0] = serverCpu().map((cpu, i) => cpu - cpuBefore[i]);
    const result = {
      ...run,
      temporalServerCpuSeconds: temporalCpu,
      ferretdbCpuSeconds: ferretCpu,
      /** Every process's CPU (hookflow's and the servers') per delivery. */
      cpuMsPerDelivery:
        ((Object.values(run.processes).reduce((n, p) => n + p.cpuSeconds, 0) + temporalCpu + ferretCpu) *
          1000) /
        run.deliveries,
      profiles: profileDir
        ? {
            ...Object.fromEntries(roles.map((role) => [role, summarizeProfile(join(profileDir, role))])),
            temporalServer: await serverProfile?.stop(),
          }
        : null,
    };
    if (result.profiles) process.stdout.write(`${JSON.stringify(result.profiles, null, 2)}\n`);
    // Each run's profiles are its own: the next run's processes write theirs afresh.
    for (const role of profileDir ? roles : [])
      rmSync(join(profileDir as string, role), { recursive: true, force: true });
    return result;
  };
  const hookflow = await measure();
  // Limits far above the load: every delivery claims a rate slot and a place in flight, none waits.
  const limited = options.limiter ? await measure({ rate_limit_per_s: 10_000, max_in_flight: 100 }) : null;
  // Every publish validated against a schema, every endpoint behind a filter the events match.
  const routed = options.routing
    ? await measure(
        { filter: { event_type: 'bench.event', 'payload.i': { $gte: 0 }, 'payload.at': { $exists: true } } },
        {
          name: 'bench.event',
          schema: {
            type: 'object',
            required: ['i', 'at'],
            properties: { i: { type: 'integer', minimum: 0 }, at: { type: 'integer' } },
            additionalProperties: false,
          },
        },
      )
    : null;
  const apiCpuMsPerEvent = (run: typeof hookflow) =>
    (((run.processes.api ?? run.processes.all)?.cpuSeconds ?? 0) * 1000) / run.events;
  const measureFloor = async (workflowType: Parameters<typeof measureTemporalFloor>[2]) => {
    await settle(serverCpu);
    const floorCpuBefore = serverCpu();
    const floorRun = await measureTemporalFloor(options, servers, workflowType);
    return { ...floorRun, temporalServerCpuSeconds: (serverCpu()[0] ?? 0) - (floorCpuBefore[0] ?? 0) };
  };
  const temporalFloor = await measureFloor('floorWorkflow');
  const temporalLocalFloor = await measureFloor('floorLocalWorkflow');
  const untunedFloor = await measureUntunedFloor(options);
  const ratios = {
    hookflowToTemporalFloor: hookflow.deliveriesPerSecond / temporalFloor.workflowsPerSecond,
    hookflowToTemporalLocalFloor: hookflow.deliveriesPerSecond / temporalLocalFloor.workflowsPerSecond,
    p50LatencyToTemporalFloor:
      (hookflow.publishToReceiptMs.p50 ?? 0) / Math.max(1, temporalFloor.startToActivityMs.p50 ?? 1),
    /** Issue 20's yardstick: hookflow's CPU per delivery, all processes, to the untuned floor's per workflow. */
    cpuToUntunedFloor: hookflow.cpuMsPerDelivery / untunedFloor.cpuMsPerWorkflow,
    /**
     * hookflow's CPU per delivery to the local-activity floor's per workflow (the SDK and the server with no work
     * of hookflow's), on the same server: it moved far less between rounds than the ratio above (bench/README,
     * eighteenth round), so a change to hookflow's own cost shows here first.
     */
    cpuToLocalFloor:
      hookflow.cpuMsPerDelivery /
      (((temporalLocalFloor.temporalServerCpuSeconds + temporalLocalFloor.benchProcessCpuSeconds) * 1000) /
        temporalLocalFloor.workflows),
    limitedToPlainCpuPerDelivery: limited ? limited.cpuMsPerDelivery / hookflow.cpuMsPerDelivery : null,
    routedToPlainApiCpuPerEvent: routed ? apiCpuMsPerEvent(routed) / apiCpuMsPerEvent(hookflow) : null,
    routedApiCpuMsPerEvent: routed ? apiCpuMsPerEvent(routed) : null,
    plainApiCpuMsPerEvent: apiCpuMsPerEvent(hookflow),
    routedToPlainAcceptP50: routed
      ? (routed.acceptMs.p50 ?? 0) / Math.max(1, hookflow.acceptMs.p50 ?? 1)
      : null,
    limitedToPlainP50Latency: limited
      ? (limited.publishToReceiptMs.p50 ?? 0) / Math.max(1, hookflow.publishToReceiptMs.p50 ?? 1)
      : null,
  };
  return { round, hookflow, limited, routed, temporalFloor, temporalLocalFloor, untunedFloor, ratios };
}

/**
 * The regular floor again, on a Temporal dev server of its own as `temporal server start-dev` runs with its
 * defaults (none of the embedded server's settings): a yardstick that hookflow's tuning does not move. Its CPU
 * per workflow is that server's and the floor worker's (this process's) while it runs.
 */
async function measureUntunedFloor(options: BenchOptions) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-untuned-floor-'));
  const port = await freePort();
  const server = await startTemporalDevServer({
    home: HOOKFLOW_HOME,
    dataDir,
    port,
    uiPort: 0,
    headless: true,
    untuned: true,
  });
  try {
    // Ready once it answers (the port opens before its frontend is healthy).
    const client = await connectTemporalClient(`127.0.0.1:${port}`, 'default', createLogger('warn'));
    await client.connection.close();
    const pid = server.process.pid as number;
    const before = processUsage(pid).cpuSeconds;
    const run = await measureTemporalFloor(
      options,
      { temporalAddress: `127.0.0.1:${port}`, mongoUri: '' },
      'floorWorkflow',
    );
    const temporalServerCpuSeconds = processUsage(pid).cpuSeconds - before;
    return {
      ...run,
      temporalServerCpuSeconds,
      cpuMsPerWorkflow: ((temporalServerCpuSeconds + run.benchProcessCpuSeconds) * 1000) / run.workflows,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export type RoundResult = Awaited<ReturnType<typeof measureRound>>;

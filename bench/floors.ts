// The floors hookflow is measured against, on the same servers and with the same arrivals: N×M Temporal
// workflows of one no-op activity each (regular, or local as hookflow's first attempt is), with hookflow's
// worker settings; and the receiver hit N×M times by an undici pool.
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Pool } from 'undici';
import { WORKER_TUNING } from '../src/worker';
import type { Servers } from './hookflow';
import { drive, percentiles, type Receipt } from './measure';
import type { BenchOptions } from './options';

export async function measureTemporalFloor(
  options: BenchOptions,
  servers: Servers,
  workflowType: 'floorWorkflow' | 'floorLocalWorkflow',
) {
  const total = options.events * options.endpoints;
  const taskQueue = `bench-floor-${randomBytes(4).toString('hex')}`;
  const startedAt = new Map<string, number>();
  const ran: number[] = [];
  const connection = await NativeConnection.connect({ address: servers.temporalAddress });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./floor-workflow'),
    activities: {
      async noop(id: string) {
        ran.push(Date.now() - (startedAt.get(id) ?? Date.now()));
      },
    },
    ...WORKER_TUNING,
  });
  const running = worker.run();
  // Started through the SDK's native connection, as hookflow's API starts its workflows; with
  // --single-process on the worker's own connection and eagerly, as hookflow's single process does.
  const client = new Client({
    connection: options.singleProcess
      ? connection
      : await NativeConnection.connect({ address: servers.temporalAddress }),
  });
  const cpuBefore = process.cpuUsage();
  const started = Date.now();
  await drive(
    options,
    total,
    async (i) => {
      const id = `floor-${taskQueue}-${i}`;
      startedAt.set(id, Date.now());
      await client.workflow.start(workflowType, {
        taskQueue,
        workflowId: id,
        args: [id],
        requestEagerStart: options.singleProcess,
      });
    },
    options.endpoints,
  );
  while (ran.length < total) await new Promise((r) => setTimeout(r, 20));
  const finished = Date.now();
  const cpu = process.cpuUsage(cpuBefore);
  worker.shutdown();
  await running;
  await connection.close();
  if (client.connection !== connection) await client.connection.close();
  return {
    workflows: total,
    workflowsPerSecond: total / ((finished - started) / 1000),
    startToActivityMs: percentiles(ran),
    benchProcessCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

export async function measureNetworkFloor(options: BenchOptions, receiverUrl: string, receipts: Receipt[]) {
  const total = options.events * options.endpoints;
  const pool = new Pool(receiverUrl, { connections: options.concurrency });
  const latencies: number[] = [];
  const started = Date.now();
  await drive(
    options,
    total,
    async (i) => {
      const t0 = Date.now();
      const res = await pool.request({
        method: 'POST',
        path: '/network',
        headers: { 'content-type': 'application/json', 'x-bench-id': `net-${i}` },
        body: JSON.stringify({ i }),
      });
      await res.body.dump();
      latencies.push(Date.now() - t0);
    },
    options.endpoints,
  );
  const finished = Date.now();
  await pool.close();
  return {
    requests: total,
    requestsPerSecond: total / ((finished - started) / 1000),
    latencyMs: percentiles(latencies),
    received: receipts.length,
  };
}

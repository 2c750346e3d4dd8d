// hookflow under load: its API and worker in their own processes (or both in one, as `npm start` runs
// them), N events published through the REST API to M endpoints on the bench receiver.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { freePort } from '../src/embedded';
import { spawnHookflow } from '../test/helpers/worker-process';
import { drive, percentiles, processUsage, type Receipt, waitForReceipts } from './measure';
import type { BenchOptions, Role } from './options';

export interface Servers {
  temporalAddress: string;
  mongoUri: string;
}

/** hookflow's processes on `servers`, a project to publish with, and a pool of `connections` to its API. */
export async function startHookflow(options: BenchOptions, servers: Servers, connections: number) {
  const apiPort = await freePort();
  const workerPort = await freePort();
  const adminKey = `bench_admin_${randomBytes(12).toString('hex')}`;
  const target = { ...servers, taskQueue: `bench-${randomBytes(4).toString('hex')}` };
  const env = {
    HOOKFLOW_PORT: String(apiPort),
    HOOKFLOW_WORKER_PORT: String(workerPort),
    HOOKFLOW_ADMIN_KEY: adminKey,
    LOG_LEVEL: 'warn',
  };
  const processes = await Promise.all(
    options.roles.map((role) =>
      spawnHookflow(target, role, env, {
        nodeArgs: options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(options.profileDir, role)] : [],
        // Warnings and errors of the run (LOG_LEVEL=warn) are kept for a look afterwards.
        logFile: join(tmpdir(), `hookflow-bench-${role}.log`),
      }),
    ),
  );
  const pids = Object.fromEntries(options.roles.map((role, i) => [role, processes[i].process.pid as number]));
  const pool = new Pool(`http://127.0.0.1:${apiPort}`, { connections });
  const call = async (path: string, key: string, body: unknown) => {
    const res = await pool.request({
      method: 'POST',
      path,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.body.json()) as Record<string, unknown>;
    if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  const get = async (path: string, key: string) => {
    const res = await pool.request({ method: 'GET', path, headers: { authorization: `Bearer ${key}` } });
    const json = (await res.body.json()) as Record<string, unknown>;
    if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  const project = await call('/v1/projects', adminKey, { name: 'bench' });
  /** Each role's JS heap in use (MiB), from its own /metrics: the worker-only process serves them on its port. */
  const heapUsedMiB = async (role: Role) => {
    const port = role === 'worker' ? workerPort : apiPort;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('hookflow_nodejs_heap_size_used_bytes '));
    return line ? Number(line.split(' ')[1]) / 2 ** 20 : Number.NaN;
  };
  return {
    pids,
    projectId: project.id as string,
    key: (project.api_key as { key: string }).key,
    call,
    get,
    heapUsedMiB,
    async stop() {
      await pool.close();
      await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    },
  };
}

export async function measureHookflow(
  options: BenchOptions,
  servers: Servers,
  receiverUrl: string,
  receipts: Receipt[],
  /** Settings of the bench's endpoints beyond URL, event type and retry (e.g. limits). */
  endpointSettings: object = {},
  /** An event type to add to the catalogue first (e.g. with a schema). */
  eventType: object | null = null,
) {
  const { events: N, endpoints: M, roles } = options;
  const hookflow = await startHookflow(options, servers, options.concurrency);
  const { call, key } = hookflow;
  if (eventType) await call('/v1/event-types', hookflow.key, eventType);
  const retry = { max_attempts: 10, initial_interval_ms: 100, backoff_coefficient: 2, max_interval_ms: 2000 };
  for (let e = 0; e < M; e++) {
    await call('/v1/endpoints', key, {
      url: `${receiverUrl}/hookflow/${e}`,
      event_types: ['bench.event'],
      retry,
      ...endpointSettings,
    });
  }
  const usageOfRoles = () => roles.map((role) => [role, processUsage(hookflow.pids[role])] as const);
  const cpuBefore = new Map(usageOfRoles());
  const publishedAt = new Map<string, number>();
  const acceptLatency: number[] = [];
  const started = Date.now();
  await drive(options, N, async (i) => {
    const t0 = Date.now();
    const event = await call('/v1/events', key, { event_type: 'bench.event', payload: { i, at: t0 } });
    acceptLatency.push(Date.now() - t0);
    publishedAt.set(event.id as string, t0);
  });
  const accepted = Date.now();
  const delivered = await waitForReceipts(receipts, N * M, 600_000);
  const finished = Math.max(...delivered.map((r) => r.at));
  const latencies = delivered.map((r) => r.at - (publishedAt.get(r.key.split('/')[0]) ?? r.at));
  const processes = Object.fromEntries(
    usageOfRoles().map(([role, usage]) => [
      role,
      { cpuSeconds: usage.cpuSeconds - (cpuBefore.get(role)?.cpuSeconds ?? 0), peakRssMiB: usage.peakRssMiB },
    ]),
  );
  await hookflow.stop();
  // Requests beyond one per delivery so far: attempts made again (at-least-once), e.g. after a timeout.
  const repeatedRequests = receipts.length - delivered.length;
  return {
    events: N,
    endpoints: M,
    deliveries: N * M,
    acceptedEventsPerSecond: N / ((accepted - started) / 1000),
    deliveriesPerSecond: (N * M) / ((finished - started) / 1000),
    repeatedRequests,
    publishToReceiptMs: percentiles(latencies),
    acceptMs: percentiles(acceptLatency),
    /** CPU seconds and peak RSS per process: `api` and `worker`, or `all` with --single-process. */
    processes,
  };
}

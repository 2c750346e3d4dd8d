// `npm run bench`: in ONE run, on the same servers, measures
//   1. hookflow: N events through the REST API to M endpoints, API and worker in their own processes;
//   2. the Temporal floors: N×M workflows of one no-op activity each (regular, then local), with the same
//      worker settings;
//   3. the network floor: the same receiver hit N×M times by an undici loop with the same concurrency;
// prints a table with the ratios and writes every figure as JSON to bench/results/.
// `--soak MINUTES` publishes at a steady rate instead and records the API's and worker's RSS over time.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Pool } from 'undici';
import { freePort, startFerretDB, startTemporalDevServer } from '../src/embedded';
import { createLogger } from '../src/logger';
import { installRuntime } from '../src/temporal';
import { WORKER_TUNING } from '../src/worker';

const root = join(__dirname, '..');
const home = join(root, '.hookflow');

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '500' },
    endpoints: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    rate: { type: 'string' },
    'latency-ms': { type: 'string', default: '0' },
    'failure-rate': { type: 'string', default: '0' },
    soak: { type: 'string' },
    profile: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    'single-process': { type: 'boolean', default: false },
  },
});
const N = Number(opts.events);
const M = Number(opts.endpoints);
const C = Number(opts.concurrency);
const RATE = opts.rate ? Number(opts.rate) : null;
const LATENCY_MS = Number(opts['latency-ms']);
const FAILURE_RATE = Number(opts['failure-rate']);
const SOAK_MINUTES = opts.soak ? Number(opts.soak) : null;
/**
 * hookflow and the Temporal floors measured this many times, alternating, on the same servers. This machine's
 * run-to-run spread (±15 %) is larger than the steps being measured; each round's ratio pairs measurements
 * taken a minute apart, and the summary reports their median.
 */
const ROUNDS = Number(opts.rounds);
/**
 * With --single-process, hookflow runs as `npm start` runs it: API and worker in one process on one Temporal
 * connection, so each delivery's first workflow task comes back in its start call (eager workflow start).
 * The floors then start their workflows eagerly too, on their worker's connection.
 */
const SINGLE_PROCESS = opts['single-process'];
const ROLES = SINGLE_PROCESS ? (['all'] as const) : (['api', 'worker'] as const);
type Role = (typeof ROLES)[number];
/** With --profile, the API and the worker run under --cpu-prof and the run reports where their CPU went. */
const PROFILE_DIR = opts.profile ? mkdtempSync(join(tmpdir(), 'hookflow-profile-')) : null;

// --- measuring --------------------------------------------------------------------------------------------

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
  return {
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: sorted[sorted.length - 1] ?? null,
    count: sorted.length,
  };
}

const CLOCK_TICKS = 100;

/** CPU seconds and peak RSS of a process, from /proc (Linux). */
function processUsage(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds, peakRssMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

// --- profiles -------------------------------------------------------------------------------------------

interface ProfileNode {
  id: number;
  hitCount?: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Where a process's CPU went, from its .cpuprofile: self time by package and the top functions. */
function summarizeProfile(dir: string) {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) return null;
  // One profile per thread (the main one, the workflow threads): their samples add up.
  const profiles = files.map(
    (file) =>
      JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        nodes: ProfileNode[];
        startTime: number;
        endTime: number;
      },
  );
  const where = (url: string) => {
    if (!url) return '(native, gc, idle)';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (pkg) return pkg[1];
    if (url.startsWith('node:')) return 'node';
    if (url.includes('/src/') || url.includes('/activities/') || url.includes('/workflows/'))
      return 'hookflow';
    return '(other)';
  };
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const profile of profiles) {
    const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
    const msPerHit = (profile.endTime - profile.startTime) / 1000 / Math.max(1, hits);
    for (const node of profile.nodes) {
      const ms = (node.hitCount ?? 0) * msPerHit;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === '(idle)' || functionName === '(program)') continue;
      byPackage.set(where(url), (byPackage.get(where(url)) ?? 0) + ms);
      const name = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(root, '')}:${lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    }
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, selfMs: Math.round(ms) }));
  return { byPackage: top(byPackage, 12), topFunctions: top(byFunction, 15) };
}

// --- the receiver -----------------------------------------------------------------------------------------

interface Receipt {
  key: string;
  at: number;
}

function startReceiver(): Promise<{ server: Server; url: string; receipts: Receipt[] }> {
  const receipts: Receipt[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = () => {
        if (FAILURE_RATE > 0 && Math.random() < FAILURE_RATE) {
          res.writeHead(500);
          res.end();
          return;
        }
        receipts.push({
          key: `${req.headers['webhook-id'] ?? req.headers['x-bench-id']}${req.url}`,
          at: Date.now(),
        });
        res.writeHead(204);
        res.end();
      };
      if (LATENCY_MS > 0) setTimeout(answer, LATENCY_MS);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, receipts }),
    ),
  );
}

/** Waits for `count` distinct deliveries; returns the first receipt of each (a delivery may arrive twice). */
async function waitForReceipts(receipts: Receipt[], count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const first = new Map<string, Receipt>();
  let seen = 0;
  for (;;) {
    for (; seen < receipts.length; seen++) {
      if (!first.has(receipts[seen].key)) first.set(receipts[seen].key, receipts[seen]);
    }
    if (first.size >= count) return [...first.values()];
    if (Date.now() > deadline) throw new Error(`only ${first.size} of ${count} deliveries arrived`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs `task(i)` for i in [0, total) in groups of `perEvent` started together: with `concurrency` groups in
 * flight, or, with --rate, `rate` groups a second. hookflow's tasks are publishes (groups of one, each
 * starting an event's M deliveries at once); the floors' are single workflows or requests, M to a group, so
 * that they face the same arrivals as hookflow rather than the same number spread evenly.
 */
async function drive(total: number, task: (i: number) => Promise<void>, perEvent = 1) {
  let next = 0;
  const group = () => {
    const first = next;
    next = Math.min(total, next + perEvent);
    return Promise.all(Array.from({ length: next - first }, (_, k) => task(first + k))).then(() => {});
  };
  if (RATE) {
    const started = Date.now();
    const inflight: Promise<void>[] = [];
    for (let g = 0; next < total; g++) {
      const due = started + (g * 1000) / RATE;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      inflight.push(group());
    }
    await Promise.all(inflight);
    return;
  }
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < total) await group();
    }),
  );
}

// --- processes --------------------------------------------------------------------------------------------

/** The API and worker processes still running: killed if the bench exits without stopping them. */
const runningRoles = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of runningRoles) child.kill('SIGKILL');
});

function spawnRole(role: Role, env: Record<string, string>): Promise<ChildProcess> {
  const profile = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', join(PROFILE_DIR, role)] : [];
  const child = spawn(process.execPath, ['--import', 'tsx', ...profile, 'src/main.ts', role], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
  });
  runningRoles.add(child);
  child.once('exit', () => runningRoles.delete(child));
  // Warnings and errors of the run (LOG_LEVEL=warn) are kept for a look afterwards.
  const log = createWriteStream(join(tmpdir(), `hookflow-bench-${role}.log`));
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (d) => {
      output += d;
      log.write(d);
    });
  }
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('hookflow is running')) {
        clearInterval(timer);
        resolve(child);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`${role} exited: ${output}`));
      }
    }, 50);
  });
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

// --- the three measurements -------------------------------------------------------------------------------

interface Servers {
  temporalAddress: string;
  mongoUri: string;
}

/** hookflow's API and worker, each in its own process (or both in one), and a project to publish with. */
async function startHookflow(servers: Servers, connections: number) {
  const apiPort = await freePort();
  const workerPort = await freePort();
  const adminKey = `bench_admin_${randomBytes(12).toString('hex')}`;
  const env = {
    MONGODB_URI: servers.mongoUri,
    TEMPORAL_ADDRESS: servers.temporalAddress,
    HOOKFLOW_TASK_QUEUE: `bench-${randomBytes(4).toString('hex')}`,
    HOOKFLOW_PORT: String(apiPort),
    HOOKFLOW_WORKER_PORT: String(workerPort),
    HOOKFLOW_ADMIN_KEY: adminKey,
    HOOKFLOW_ALLOW_PRIVATE_TARGETS: 'true',
  };
  const children = await Promise.all(ROLES.map((role) => spawnRole(role, env)));
  const pids = Object.fromEntries(ROLES.map((role, i) => [role, children[i].pid as number]));
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
    key: (project.api_key as { key: string }).key,
    call,
    heapUsedMiB,
    async stop() {
      await pool.close();
      await Promise.all(children.map(stopChild));
    },
  };
}

async function measureHookflow(servers: Servers, receiverUrl: string, receipts: Receipt[]) {
  const hookflow = await startHookflow(servers, C);
  const { call, key } = hookflow;
  const retry = { max_attempts: 10, initial_interval_ms: 100, backoff_coefficient: 2, max_interval_ms: 2000 };
  for (let e = 0; e < M; e++) {
    await call('/v1/endpoints', key, {
      url: `${receiverUrl}/hookflow/${e}`,
      event_types: ['bench.event'],
      retry,
    });
  }
  const usageOfRoles = () => ROLES.map((role) => [role, processUsage(hookflow.pids[role])] as const);
  const cpuBefore = new Map(usageOfRoles());
  const publishedAt = new Map<string, number>();
  const acceptLatency: number[] = [];
  const started = Date.now();
  await drive(N, async (i) => {
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

async function measureTemporalFloor(servers: Servers, workflowType: 'floorWorkflow' | 'floorLocalWorkflow') {
  const total = N * M;
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
    connection: SINGLE_PROCESS
      ? connection
      : await NativeConnection.connect({ address: servers.temporalAddress }),
  });
  const cpuBefore = process.cpuUsage();
  const started = Date.now();
  await drive(
    total,
    async (i) => {
      const id = `floor-${taskQueue}-${i}`;
      startedAt.set(id, Date.now());
      await client.workflow.start(workflowType, {
        taskQueue,
        workflowId: id,
        args: [id],
        requestEagerStart: SINGLE_PROCESS,
      });
    },
    M,
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

async function measureNetworkFloor(receiverUrl: string, receipts: Receipt[]) {
  const total = N * M;
  const pool = new Pool(receiverUrl, { connections: C });
  const latencies: number[] = [];
  const started = Date.now();
  await drive(
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
    M,
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

async function soak(servers: Servers, receiverUrl: string, minutes: number) {
  const rate = RATE ?? 20;
  const hookflow = await startHookflow(servers, 8);
  const { call, key } = hookflow;
  await call('/v1/endpoints', key, { url: `${receiverUrl}/soak`, event_types: ['soak'] });
  type Sample = {
    t: number;
    apiRssMiB: number;
    workerRssMiB: number;
    apiHeapUsedMiB: number;
    workerHeapUsedMiB: number;
  };
  const samples: Sample[] = [];
  const started = Date.now();
  const [apiRole, workerRole]: Role[] = SINGLE_PROCESS ? ['all', 'all'] : ['api', 'worker'];
  // RSS says what the machine pays; the JS heap in use, sampled alongside, tells retained objects from an
  // allocator or a heap that has not been collected yet.
  const sampler = setInterval(async () => {
    const t = Math.round((Date.now() - started) / 1000);
    const [apiHeapUsedMiB, workerHeapUsedMiB] = await Promise.all(
      [apiRole, workerRole].map((role) => hookflow.heapUsedMiB(role).catch(() => Number.NaN)),
    );
    samples.push({
      t,
      apiRssMiB: processUsage(hookflow.pids[apiRole]).rssMiB,
      workerRssMiB: processUsage(hookflow.pids[workerRole]).rssMiB,
      apiHeapUsedMiB,
      workerHeapUsedMiB,
    });
  }, 5000);
  let published = 0;
  const end = started + minutes * 60_000;
  while (Date.now() < end) {
    const due = started + (published * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    void call('/v1/events', key, { event_type: 'soak', payload: { n: published } }).catch(() => {});
    published++;
  }
  clearInterval(sampler);
  await hookflow.stop();
  const minute = samples.filter((s) => s.t <= 60);
  const last = samples.filter((s) => s.t >= minutes * 60 - 60);
  const perMinute = Array.from({ length: minutes }, (_, m) => {
    const inMinute = samples.filter((s) => s.t > m * 60 && s.t <= (m + 1) * 60);
    const most = (pick: (s: Sample) => number) => Math.round(Math.max(...inMinute.map(pick)));
    // The least heap in use seen in the minute: what survived that minute's collections.
    const least = (pick: (s: Sample) => number) => Math.round(Math.min(...inMinute.map(pick)) * 10) / 10;
    return {
      minute: m + 1,
      apiRssMiBPeak: most((s) => s.apiRssMiB),
      workerRssMiBPeak: most((s) => s.workerRssMiB),
      apiHeapUsedMiBLeast: least((s) => s.apiHeapUsedMiB),
      workerHeapUsedMiBLeast: least((s) => s.workerHeapUsedMiB),
    };
  });
  for (const row of perMinute) process.stdout.write(`${JSON.stringify(row)}\n`);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    minutes,
    rate,
    published,
    samples,
    apiRssMiB: {
      firstMinute: avg(minute.map((s) => s.apiRssMiB)),
      lastMinute: avg(last.map((s) => s.apiRssMiB)),
    },
    workerRssMiB: {
      firstMinute: avg(minute.map((s) => s.workerRssMiB)),
      lastMinute: avg(last.map((s) => s.workerRssMiB)),
    },
    perMinute,
  };
}

/**
 * Waits until the embedded servers are idle (under 5 % of a core for a second), at most a minute: the
 * Temporal server keeps working after a measurement (visibility and history tasks of the workflows that
 * just closed), and the next measurement should not pay for it.
 */
async function settle(serverCpu: () => number[]) {
  const total = () => serverCpu().reduce((a, b) => a + b, 0);
  const deadline = Date.now() + 60_000;
  let last = total();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = total();
    if (now - last < 0.05) return;
    last = now;
  }
}

/** One round: hookflow, then the regular and the local-activity Temporal floors, on the same servers. */
async function measureRound(
  servers: Servers,
  receiver: Awaited<ReturnType<typeof startReceiver>>,
  serverCpu: () => number[],
  round: number,
) {
  receiver.receipts.length = 0;
  await settle(serverCpu);
  const hookflowCpuBefore = serverCpu();
  const hookflowRun = await measureHookflow(servers, receiver.url, receiver.receipts);
  const [temporalCpu = 0, ferretCpu = 0] = serverCpu().map((cpu, i) => cpu - hookflowCpuBefore[i]);
  const hookflow = {
    ...hookflowRun,
    temporalServerCpuSeconds: temporalCpu,
    ferretdbCpuSeconds: ferretCpu,
    profiles: PROFILE_DIR
      ? Object.fromEntries(ROLES.map((role) => [role, summarizeProfile(join(PROFILE_DIR, role))]))
      : null,
  };
  if (hookflow.profiles) process.stdout.write(`${JSON.stringify(hookflow.profiles, null, 2)}\n`);
  // Each round's profiles are its own: the next round's processes write theirs afresh.
  for (const role of PROFILE_DIR ? ROLES : [])
    rmSync(join(PROFILE_DIR as string, role), { recursive: true, force: true });
  const measureFloor = async (workflowType: Parameters<typeof measureTemporalFloor>[1]) => {
    await settle(serverCpu);
    const floorCpuBefore = serverCpu();
    const floorRun = await measureTemporalFloor(servers, workflowType);
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
  const result = { round, hookflow, temporalFloor, temporalLocalFloor, ratios };
  const row = (name: string, perSecond: number, p: ReturnType<typeof percentiles>) =>
    `${name.padEnd(16)} ${perSecond.toFixed(1).padStart(10)} /s   p50 ${p.p50} ms  p95 ${p.p95} ms  p99 ${p.p99} ms  max ${p.max} ms`;
  process.stdout.write(
    [
      ROUNDS > 1 ? `\nround ${round} of ${ROUNDS}` : '',
      row('hookflow', hookflow.deliveriesPerSecond, hookflow.publishToReceiptMs),
      row('temporal floor', temporalFloor.workflowsPerSecond, temporalFloor.startToActivityMs),
      row('  local activity', temporalLocalFloor.workflowsPerSecond, temporalLocalFloor.startToActivityMs),
      `hookflow / temporal floor: ${ratios.hookflowToTemporalFloor.toFixed(2)} (p50 latency ${ratios.p50LatencyToTemporalFloor.toFixed(2)}×)   hookflow / local-activity floor: ${ratios.hookflowToTemporalLocalFloor.toFixed(2)}`,
      `accepted events/s ${hookflow.acceptedEventsPerSecond.toFixed(1)}; repeated requests ${hookflow.repeatedRequests}; ${Object.entries(
        hookflow.processes,
      )
        .map(([role, p]) => `${role} ${p.cpuSeconds.toFixed(1)} CPU s, peak ${p.peakRssMiB.toFixed(0)} MiB`)
        .join('; ')}`,
      `CPU seconds: hookflow run: temporal server ${temporalCpu.toFixed(1)}, ferretdb ${ferretCpu.toFixed(1)}; floor run: temporal server ${temporalFloor.temporalServerCpuSeconds.toFixed(1)}, floor worker ${temporalFloor.benchProcessCpuSeconds.toFixed(1)}; local-activity floor: ${temporalLocalFloor.temporalServerCpuSeconds.toFixed(1)}, ${temporalLocalFloor.benchProcessCpuSeconds.toFixed(1)}`,
    ].join('\n'),
  );
  return result;
}

// --- the run ----------------------------------------------------------------------------------------------

async function main() {
  await installRuntime(createLogger('warn'));
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-'));
  const children: { stop(): Promise<void>; process?: ChildProcess }[] = [];
  let servers: Servers;
  if (process.env.TEMPORAL_ADDRESS && process.env.MONGODB_URI) {
    servers = { temporalAddress: process.env.TEMPORAL_ADDRESS, mongoUri: process.env.MONGODB_URI };
  } else {
    const [temporalPort, ferretPort] = [await freePort(), await freePort()];
    children.push(
      ...(await Promise.all([
        process.env.TEMPORAL_ADDRESS
          ? { stop: async () => {} }
          : startTemporalDevServer({ home, dataDir, port: temporalPort, uiPort: 0, headless: true }),
        process.env.MONGODB_URI
          ? { stop: async () => {} }
          : startFerretDB({ home, dataDir, port: ferretPort }),
      ])),
    );
    servers = {
      temporalAddress: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${temporalPort}`,
      mongoUri: process.env.MONGODB_URI ?? `mongodb://127.0.0.1:${ferretPort}/hookflow_bench`,
    };
  }
  // Ctrl-C or SIGTERM mid-run stops the embedded servers too (the roles are SIGKILLed on exit).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.all(children.map((child) => child.stop())).finally(() => process.exit(130));
    });
  }
  const receiver = await startReceiver();
  // CPU seconds of the embedded servers during each measurement: where the time goes besides our processes.
  const serverPids = children.flatMap((c) => (c.process?.pid ? [c.process.pid] : []));
  const serverCpu = () => serverPids.map((pid) => processUsage(pid).cpuSeconds);
  const machine = {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    temporalCli: execFileSync(join(home, 'venv', 'bin', 'temporal'), ['--version'])
      .toString()
      .trim(),
  };
  const settings = {
    singleProcess: SINGLE_PROCESS,
    events: N,
    endpoints: M,
    concurrency: C,
    rate: RATE,
    latencyMs: LATENCY_MS,
    failureRate: FAILURE_RATE,
  };
  let result: Record<string, unknown>;
  try {
    if (SOAK_MINUTES) {
      result = { kind: 'soak', machine, settings, soak: await soak(servers, receiver.url, SOAK_MINUTES) };
    } else {
      const rounds: Awaited<ReturnType<typeof measureRound>>[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        rounds.push(await measureRound(servers, receiver, serverCpu, round));
      }
      const networkFloor = await measureNetworkFloor(receiver.url, receiver.receipts);
      const median = (pick: (r: (typeof rounds)[number]) => number) => {
        const sorted = rounds.map(pick).sort((a, b) => a - b);
        const mid = Math.floor(sorted.length / 2);
        return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      };
      const ratios = {
        hookflowToTemporalFloor: median((r) => r.ratios.hookflowToTemporalFloor),
        hookflowToTemporalLocalFloor: median((r) => r.ratios.hookflowToTemporalLocalFloor),
        hookflowToNetworkFloor:
          median((r) => r.hookflow.deliveriesPerSecond) / networkFloor.requestsPerSecond,
        p50LatencyToTemporalFloor: median((r) => r.ratios.p50LatencyToTemporalFloor),
      };
      // With one round, `hookflow` and the floors are that round's figures, as before --rounds existed.
      const [{ hookflow, temporalFloor, temporalLocalFloor }] = rounds;
      result = {
        kind: 'throughput',
        machine,
        settings: { ...settings, rounds: ROUNDS },
        ...(ROUNDS === 1 ? { hookflow, temporalFloor, temporalLocalFloor } : { rounds }),
        networkFloor,
        ratios,
      };
      const net = networkFloor.latencyMs;
      process.stdout.write(
        [
          '',
          `network floor    ${networkFloor.requestsPerSecond.toFixed(1).padStart(10)} /s   p50 ${net.p50} ms  p95 ${net.p95} ms  p99 ${net.p99} ms  max ${net.max} ms`,
          `${ROUNDS > 1 ? `median of ${ROUNDS} rounds: ` : ''}hookflow / temporal floor ${ratios.hookflowToTemporalFloor.toFixed(2)} (p50 latency ${ratios.p50LatencyToTemporalFloor.toFixed(2)}×)   hookflow / local-activity floor ${ratios.hookflowToTemporalLocalFloor.toFixed(2)}   hookflow / network floor ${ratios.hookflowToNetworkFloor.toFixed(3)}`,
          '',
        ].join('\n'),
      );
    }
    // Peak memory of the embedded servers: their GOGC trades heap for CPU (src/embedded.ts).
    const peakRss = serverPids.map((pid) => Math.round(processUsage(pid).peakRssMiB));
    if (peakRss.length) {
      const [temporal, ferretdb] = peakRss;
      result.embeddedServersPeakRssMiB = { temporal, ferretdb };
      process.stdout.write(
        `embedded servers' peak RSS: temporal ${temporal} MiB, ferretdb ${ferretdb} MiB\n`,
      );
    }
  } finally {
    receiver.server.close();
    for (const child of children) await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${result.kind}.json`);
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...result }, null, 2)}\n`);
  process.stdout.write(`results written to ${file}\n`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

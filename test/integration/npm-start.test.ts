// `npm start` (src/main.ts all) with its own embedded servers: their pid files let the next start stop a server
// a SIGKILLed run left behind; an embedded server that dies stops hookflow; logs are readable on a terminal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../../src/embedded';
import { useStack } from '../helpers/harness';
import { eventually, HOOKFLOW_HOME } from '../helpers/stack';
import { type HookflowProcess, spawnHookflow } from '../helpers/worker-process';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a supervised npm start', () => {
  const h = useStack({ project: 'npm-start', worker: false });
  // A home of its own (the installed binaries linked in), so that its data folder is this test's.
  const home = mkdtempSync(join(tmpdir(), 'hookflow-start-'));
  for (const dir of ['venv', 'bin']) symlinkSync(join(HOOKFLOW_HOME, dir), join(home, dir));
  mkdirSync(join(home, 'data'));
  const pidOf = (server: 'temporal' | 'ferretdb') =>
    Number(readFileSync(join(home, 'data', `${server}.pid`), 'utf8'));
  const running: HookflowProcess[] = [];
  const orphans: number[] = [];
  after(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    for (const pid of orphans) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });

  let ports: Record<string, string> = {};
  /** npm start's own process tree: embedded servers, worker and API, on free ports. */
  async function npmStart(): Promise<HookflowProcess> {
    const started = await spawnHookflow(
      { mongoUri: '', temporalAddress: '', taskQueue: 'hookflow-deliveries' },
      'all',
      {
        ...ports,
        HOOKFLOW_HOME: home,
        MONGODB_URI: undefined,
        TEMPORAL_ADDRESS: undefined,
        HOOKFLOW_ENCRYPTION_KEYS: undefined,
        HOOKFLOW_SHUTDOWN_GRACE_MS: '1000',
        LOG_LEVEL: 'info',
      },
    );
    running.push(started);
    return started;
  }

  it('stops the Temporal server a SIGKILLed npm start left running, then delivers', async () => {
    ports = {
      HOOKFLOW_PORT: String(await freePort()),
      HOOKFLOW_TEMPORAL_PORT: String(await freePort()),
      HOOKFLOW_TEMPORAL_UI_PORT: String(await freePort()),
      HOOKFLOW_FERRETDB_PORT: String(await freePort()),
    };
    const first = await npmStart();
    const orphan = pidOf('temporal');
    orphans.push(orphan);
    await first.kill('SIGKILL');
    // FerretDB follows its parent out (stdin closed); the Temporal CLI cannot: it is left running.
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(alive(orphan), 'the Temporal dev server outlived the SIGKILLed npm start');

    const second = await npmStart();
    assert.ok(!alive(orphan), 'the orphan was stopped');
    assert.match(
      second.output(),
      new RegExp(
        `stopped the embedded Temporal dev server an earlier npm start left running \\(pid ${orphan}\\)`,
      ),
    );
    assert.notEqual(pidOf('temporal'), orphan);

    // It works: a delivery through its API, with the admin key it keeps in its data folder.
    const admin = readFileSync(join(home, 'data', 'admin-key'), 'utf8').trim();
    const base = `http://127.0.0.1:${ports.HOOKFLOW_PORT}`;
    const post = async (path: string, key: string, body: unknown) =>
      // biome-ignore lint/suspicious/noExplicitAny: free-form JSON answers.
      (await fetch(base + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json())) as any;
    const key = (await post('/v1/projects', admin, { name: 'started' })).api_key.key;
    await post('/v1/endpoints', key, { url: h.receiver.url('/started'), event_types: ['started'] });
    await post('/v1/events', key, { event_type: 'started', payload: { ok: true } });
    await h.receiver.waitFor('/started', 1);
  });

  it('stops, saying why, when an embedded server dies under it; pid files go with the servers', async () => {
    const current = running.at(-1) as HookflowProcess;
    const [temporal, ferretdb] = [pidOf('temporal'), pidOf('ferretdb')];
    process.kill(temporal, 'SIGKILL');
    const code = await current.exited;
    assert.equal(code, 1);
    assert.match(current.output(), /the embedded Temporal dev server exited: stopping hookflow/);
    await eventually(
      async () => alive(ferretdb),
      (up) => !up,
    );
    for (const server of ['temporal', 'ferretdb'])
      assert.ok(!existsSync(join(home, 'data', `${server}.pid`)), `${server}.pid removed`);
  });

  it('writes readable lines on a terminal and JSON lines otherwise', async () => {
    // A pseudo-terminal from Python's standard library (the one thing besides Node a fresh machine has).
    const env = {
      ...process.env,
      MONGODB_URI: h.stack.mongoUri,
      TEMPORAL_ADDRESS: h.stack.temporalAddress,
      HOOKFLOW_ENCRYPTION_KEYS: h.stack.encryptionKeys,
      HOOKFLOW_WORKER_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    };
    const child = spawn(
      'python3',
      [
        '-c',
        'import pty, sys; pty.spawn(sys.argv[1:])',
        process.execPath,
        '--import',
        'tsx',
        'src/main.ts',
        'worker',
      ],
      { cwd: join(__dirname, '..', '..'), env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    try {
      await eventually(
        async () => output,
        (o) => o.includes('hookflow is running'),
        60_000,
      );
    } finally {
      child.kill('SIGKILL');
    }
    const line = output.split('\n').find((l) => l.includes('MongoDB is not a replica set')) ?? '';
    assert.match(line, /WARN/);
    assert.doesNotMatch(line, /^\s*\{/, 'not JSON');
    // Without a terminal (every other test's processes): JSON lines.
    const piped = await spawnHookflow(h.stack, 'worker', { LOG_LEVEL: 'warn' });
    running.push(piped);
    await piped.kill('SIGTERM');
    const json =
      piped
        .output()
        .split('\n')
        .find((l) => l.includes('MongoDB is not a replica set')) ?? '';
    assert.equal(JSON.parse(json).level, 40);
  });
});

// hookflow in its own process (`src/main.ts <role>`) against a test stack's servers, so that a test can
// SIGKILL or SIGTERM it and read what it printed. The bench launches its processes with it too.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/embedded';
import { type Stack, TEST_ENCRYPTION_KEYS } from './stack';

export interface HookflowProcess {
  process: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export type WorkerProcess = HookflowProcess;

/** The servers and task queue a hookflow process works on. */
export type HookflowTarget = Pick<Stack, 'mongoUri' | 'temporalAddress' | 'taskQueue'> &
  Partial<Pick<Stack, 'encryptionKeys'>>;

export interface SpawnOptions {
  /** Node flags before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** A file that receives everything the process prints, as well. */
  logFile?: string;
}

/**
 * The environment a hookflow process gets to work on `stack` (free ports, the stack's keys, `env` last; a
 * variable given as undefined is left unset).
 */
async function hookflowEnv(
  stack: HookflowTarget,
  env: Record<string, string | undefined>,
): Promise<NodeJS.ProcessEnv> {
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    MONGODB_URI: stack.mongoUri,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    HOOKFLOW_TASK_QUEUE: stack.taskQueue,
    HOOKFLOW_ALLOW_PRIVATE_TARGETS: 'true',
    HOOKFLOW_ENCRYPTION_KEYS: stack.encryptionKeys ?? TEST_ENCRYPTION_KEYS,
    LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'debug',
    // Free ports, so that several processes can run side by side.
    HOOKFLOW_PORT: String(await freePort()),
    HOOKFLOW_WORKER_PORT: String(await freePort()),
    ...env,
  };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  return merged;
}

/** Runs `src/main.ts <command>` to its end (a start-up that fails, `rotate-keys`): its exit code and output. */
export async function runHookflow(
  stack: HookflowTarget,
  command: string,
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', command], {
    cwd: join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: await hookflowEnv(stack, env),
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, output };
}

export async function spawnHookflow(
  stack: HookflowTarget,
  role: 'all' | 'api' | 'worker',
  env: Record<string, string | undefined> = {},
  { nodeArgs = [], logFile }: SpawnOptions = {},
): Promise<HookflowProcess> {
  const root = join(__dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'src/main.ts', role], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: await hookflowEnv(stack, env),
  });
  let output = '';
  const log = logFile ? createWriteStream(logFile) : null;
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (d) => {
      output += d;
      log?.write(d);
    });
  }
  process.once('exit', () => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('hookflow is running')) {
    if (child.exitCode !== null) throw new Error(`hookflow ${role} exited while starting: ${output}`);
    if (Date.now() > deadline) throw new Error(`hookflow ${role} did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    process: child,
    output: () => output,
    exited,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

export const spawnWorker = (stack: HookflowTarget, env: Record<string, string> = {}) =>
  spawnHookflow(stack, 'worker', env);

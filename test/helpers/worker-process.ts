// A hookflow worker in its own process (`src/main.ts worker`), so that a test can SIGKILL it.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../src/embedded';
import type { Stack } from './stack';

export interface WorkerProcess {
  process: ChildProcess;
  output: () => string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnWorker(stack: Stack, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const root = join(__dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MONGODB_URI: stack.mongoUri,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      HOOKFLOW_TASK_QUEUE: stack.taskQueue,
      HOOKFLOW_ALLOW_PRIVATE_TARGETS: 'true',
      LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'debug',
      // Its health and metrics port: free, so that several workers can run side by side.
      HOOKFLOW_WORKER_PORT: String(await freePort()),
      ...env,
    },
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + 60_000;
  while (!output.includes('hookflow is running')) {
    if (child.exitCode !== null) throw new Error(`worker exited while starting: ${output}`);
    if (Date.now() > deadline) throw new Error(`worker did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    process: child,
    output: () => output,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

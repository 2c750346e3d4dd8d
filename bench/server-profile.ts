// With --profile: where the embedded Temporal server's CPU goes while hookflow runs. `perf` samples its
// stacks; bench/server-profile/main.go names the frames from the binary's own function table (the Temporal
// CLI ships stripped). Skipped, with the reason in the results, where perf is missing or not permitted.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HOOKFLOW_HOME } from '../test/helpers/stack';

export interface ServerProfile {
  samples: number;
  /** Inclusive shares of the frames that say where a Temporal server's time goes. */
  groups: { name: string; share: number }[];
  topSelf: { name: string; share: number }[];
  topIncluded: { name: string; share: number }[];
}

export type ServerProfileResult = ServerProfile | { skipped: string };

const TEMPORAL_BINARY = join(HOOKFLOW_HOME, 'venv', 'bin', 'temporal');

/** Starts sampling `pid`; `stop()` ends it and returns where the time went. */
export function startServerProfile(pid: number, dir: string): { stop(): Promise<ServerProfileResult> } {
  const data = join(dir, 'temporal-perf.data');
  let perf: ChildProcess;
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    perf = spawn('perf', ['record', '-F', '499', '-g', '-p', String(pid), '-o', data], { stdio: 'ignore' });
  } catch {
    return { stop: async () => ({ skipped: 'perf is not installed (apt-get install linux-perf)' }) };
  }
  const exited = new Promise<string>((resolve) =>
    perf.once('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  return {
    async stop() {
      perf.kill('SIGINT');
      // perf ends on SIGINT by raising it again once it has written its data.
      const end = await exited;
      if (!['0', 'SIGINT'].includes(end) || !existsSync(data))
        return { skipped: `perf record ended with ${end} (perf_event_paranoid?)` };
      const symbolizer = join(HOOKFLOW_HOME, 'bin', 'server-profile');
      execFileSync('go', ['build', '-o', symbolizer, '.'], { cwd: join(__dirname, 'server-profile') });
      const stacks = execFileSync('perf', ['script', '-i', data, '-F', 'ip,dso'], {
        maxBuffer: 1 << 30,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const out = execFileSync(symbolizer, [TEMPORAL_BINARY], { input: stacks, maxBuffer: 1 << 26 });
      return JSON.parse(out.toString()) as ServerProfile;
    },
  };
}

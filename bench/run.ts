// `npm run bench`: in ONE run, on the same servers, measures
//   1. hookflow: N events through the REST API to M endpoints, API and worker in their own processes;
//   2. the Temporal floors: N×M workflows of one no-op activity each (regular, then local), with the same
//      worker settings;
//   3. the network floor: the same receiver hit N×M times by an undici loop with the same concurrency;
// prints a table with the ratios and writes every figure as JSON to bench/results/.
// `--soak MINUTES` publishes at a steady rate instead and records the API's and worker's RSS over time.
// bench/README.md says what each figure means and keeps the measurements.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/logger';
import { installRuntime } from '../src/temporal';
import { delayed, Receiver, type Responder, status } from '../test/helpers/receiver';
import { type EmbeddedServers, HOOKFLOW_HOME, startEmbeddedServers } from '../test/helpers/stack';
import { measureBacklog } from './backlog';
import { measureFanOut } from './fan-out';
import { measureNetworkFloor } from './floors';
import type { Servers } from './hookflow';
import { processUsage, type Receipt } from './measure';
import { type BenchOptions, parseBenchOptions } from './options';
import { printRound, summarize, writeResult } from './report';
import { type BenchReceiver, measureRound, type RoundResult } from './round';
import { measureScale } from './scale';
import { soak } from './soak';

/** The test receiver, answering every path 204 (or 500 at --failure-rate, after --latency-ms). */
async function startBenchReceiver(options: BenchOptions): Promise<BenchReceiver> {
  const receipts: Receipt[] = [];
  const answer: Responder = (req, res) => {
    if (options.failureRate > 0 && Math.random() < options.failureRate) return status(500)(req, res);
    receipts.push({
      key: `${req.headers['webhook-id'] ?? req.headers['x-bench-id']}${req.path}`,
      at: Date.now(),
    });
    status(204)(req, res);
  };
  const receiver = await new Receiver({ keepRequests: false }).start();
  receiver.fallback(options.latencyMs > 0 ? delayed(options.latencyMs, answer) : answer);
  return { receiver, receipts };
}

/** TEMPORAL_ADDRESS and MONGODB_URI when both are set, else the embedded servers in a temporary folder. */
async function servers(): Promise<{ servers: Servers; embedded: EmbeddedServers | null; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-'));
  const { TEMPORAL_ADDRESS, MONGODB_URI } = process.env;
  if (TEMPORAL_ADDRESS && MONGODB_URI) {
    return { servers: { temporalAddress: TEMPORAL_ADDRESS, mongoUri: MONGODB_URI }, embedded: null, dataDir };
  }
  const embedded = await startEmbeddedServers(dataDir, 'hookflow_bench');
  return { servers: embedded, embedded, dataDir };
}

async function main() {
  const options = parseBenchOptions();
  await installRuntime(createLogger('warn'));
  const { servers: target, embedded, dataDir } = await servers();
  // Ctrl-C or SIGTERM mid-run stops the embedded servers too (hookflow's processes die with this one).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void (embedded?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  const bench = await startBenchReceiver(options);
  // CPU seconds of the embedded servers during each measurement: where the time goes besides our processes.
  const serverCpu = () => (embedded?.pids() ?? []).map((pid) => processUsage(pid).cpuSeconds);
  const machine = {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    temporalCli: execFileSync(join(HOOKFLOW_HOME, 'venv', 'bin', 'temporal'), ['--version'])
      .toString()
      .trim(),
  };
  const { profileDir: _, roles: __, soakMinutes, ...settings } = options;
  let result: { kind: string } & Record<string, unknown>;
  try {
    if (options.backlog) {
      result = { kind: 'backlog', machine, settings, ...(await measureBacklog(options, target, bench)) };
    } else if (options.scale) {
      result = {
        kind: 'scale',
        machine,
        settings,
        ...(await measureScale(options, target, bench.receiver.url(''))),
      };
    } else if (options.fanout) {
      result = {
        kind: 'fanout',
        machine,
        settings,
        ...(await measureFanOut(options, target, bench, serverCpu)),
      };
    } else if (soakMinutes) {
      const figures = await soak(options, target, bench.receiver.url(''), soakMinutes);
      result = { kind: 'soak', machine, settings, soak: figures };
    } else {
      const rounds: RoundResult[] = [];
      for (let round = 1; round <= options.rounds; round++) {
        const figures = await measureRound(
          options,
          target,
          bench,
          serverCpu,
          round,
          embedded?.pids()[0] ?? null,
        );
        printRound(options, figures);
        rounds.push(figures);
      }
      const networkFloor = await measureNetworkFloor(options, bench.receiver.url(''), bench.receipts);
      result = { kind: 'throughput', machine, settings, ...summarize(options, rounds, networkFloor) };
    }
    // Peak memory of the embedded servers: their GOGC trades heap for CPU (src/embedded.ts).
    const [temporal, ferretdb] = (embedded?.pids() ?? []).map((pid) =>
      Math.round(processUsage(pid).peakRssMiB),
    );
    if (temporal !== undefined) {
      result.embeddedServersPeakRssMiB = { temporal, ferretdb };
      process.stdout.write(
        `embedded servers' peak RSS: temporal ${temporal} MiB, ferretdb ${ferretdb} MiB\n`,
      );
    }
  } finally {
    await bench.receiver.stop();
    await embedded?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(`results written to ${writeResult(result)}\n`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

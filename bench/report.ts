// What a run prints (a table per round, the medians of the ratios) and writes to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { measureNetworkFloor } from './floors';
import type { Percentiles } from './measure';
import type { BenchOptions } from './options';
import type { RoundResult } from './round';

const row = (name: string, perSecond: number, p: Percentiles) =>
  `${name.padEnd(16)} ${perSecond.toFixed(1).padStart(10)} /s   p50 ${p.p50} ms  p95 ${p.p95} ms  p99 ${p.p99} ms  max ${p.max} ms`;

export function printRound({ rounds }: BenchOptions, result: RoundResult): void {
  const { round, hookflow, limited, routed, temporalFloor, temporalLocalFloor, untunedFloor, ratios } =
    result;
  process.stdout.write(
    [
      rounds > 1 ? `\nround ${round} of ${rounds}` : '',
      row('hookflow', hookflow.deliveriesPerSecond, hookflow.publishToReceiptMs),
      ...(limited
        ? [
            row('  limited', limited.deliveriesPerSecond, limited.publishToReceiptMs),
            `limiter: ${limited.cpuMsPerDelivery.toFixed(1)} against ${hookflow.cpuMsPerDelivery.toFixed(1)} ms of CPU per delivery (×${ratios.limitedToPlainCpuPerDelivery?.toFixed(2)}), p50 latency ×${ratios.limitedToPlainP50Latency?.toFixed(2)}`,
          ]
        : []),
      ...(routed
        ? [
            row('  routed', routed.deliveriesPerSecond, routed.publishToReceiptMs),
            `schema + filters: API ${ratios.routedApiCpuMsPerEvent?.toFixed(2)} against ${ratios.plainApiCpuMsPerEvent.toFixed(2)} ms of CPU per event (×${ratios.routedToPlainApiCpuPerEvent?.toFixed(2)}), accept p50 ×${ratios.routedToPlainAcceptP50?.toFixed(2)}`,
          ]
        : []),
      row('temporal floor', temporalFloor.workflowsPerSecond, temporalFloor.startToActivityMs),
      row('  local activity', temporalLocalFloor.workflowsPerSecond, temporalLocalFloor.startToActivityMs),
      row('  untuned server', untunedFloor.workflowsPerSecond, untunedFloor.startToActivityMs),
      `CPU per delivery: hookflow ${hookflow.cpuMsPerDelivery.toFixed(1)} ms (all processes) against the untuned floor's ${untunedFloor.cpuMsPerWorkflow.toFixed(1)} ms per workflow: ×${ratios.cpuToUntunedFloor.toFixed(2)} (×${ratios.cpuToLocalFloor.toFixed(2)} of the local-activity floor's)`,
      `hookflow / temporal floor: ${ratios.hookflowToTemporalFloor.toFixed(2)} (p50 latency ${ratios.p50LatencyToTemporalFloor.toFixed(2)}×)   hookflow / local-activity floor: ${ratios.hookflowToTemporalLocalFloor.toFixed(2)}`,
      `accepted events/s ${hookflow.acceptedEventsPerSecond.toFixed(1)}; repeated requests ${hookflow.repeatedRequests}; ${Object.entries(
        hookflow.processes,
      )
        .map(([role, p]) => `${role} ${p.cpuSeconds.toFixed(1)} CPU s, peak ${p.peakRssMiB.toFixed(0)} MiB`)
        .join('; ')}`,
      `CPU seconds: hookflow run: temporal server ${hookflow.temporalServerCpuSeconds.toFixed(1)}, ferretdb ${hookflow.ferretdbCpuSeconds.toFixed(1)}; floor run: temporal server ${temporalFloor.temporalServerCpuSeconds.toFixed(1)}, floor worker ${temporalFloor.benchProcessCpuSeconds.toFixed(1)}; local-activity floor: ${temporalLocalFloor.temporalServerCpuSeconds.toFixed(1)}, ${temporalLocalFloor.benchProcessCpuSeconds.toFixed(1)}`,
    ].join('\n'),
  );
}

/** The rounds' median ratios; with one round, that round's figures stand as they are. */
export function summarize(
  options: BenchOptions,
  rounds: RoundResult[],
  networkFloor: Awaited<ReturnType<typeof measureNetworkFloor>>,
) {
  const median = (pick: (r: RoundResult) => number) => {
    const sorted = rounds.map(pick).sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const ratios = {
    hookflowToTemporalFloor: median((r) => r.ratios.hookflowToTemporalFloor),
    hookflowToTemporalLocalFloor: median((r) => r.ratios.hookflowToTemporalLocalFloor),
    hookflowToNetworkFloor: median((r) => r.hookflow.deliveriesPerSecond) / networkFloor.requestsPerSecond,
    p50LatencyToTemporalFloor: median((r) => r.ratios.p50LatencyToTemporalFloor),
    cpuToUntunedFloor: median((r) => r.ratios.cpuToUntunedFloor),
    cpuToLocalFloor: median((r) => r.ratios.cpuToLocalFloor),
    limitedToPlainCpuPerDelivery: options.limiter
      ? median((r) => r.ratios.limitedToPlainCpuPerDelivery ?? Number.NaN)
      : null,
  };
  const net = networkFloor.latencyMs;
  process.stdout.write(
    [
      '',
      `network floor    ${networkFloor.requestsPerSecond.toFixed(1).padStart(10)} /s   p50 ${net.p50} ms  p95 ${net.p95} ms  p99 ${net.p99} ms  max ${net.max} ms`,
      `${options.rounds > 1 ? `median of ${options.rounds} rounds: ` : ''}hookflow / temporal floor ${ratios.hookflowToTemporalFloor.toFixed(2)} (p50 latency ${ratios.p50LatencyToTemporalFloor.toFixed(2)}×)   hookflow / local-activity floor ${ratios.hookflowToTemporalLocalFloor.toFixed(2)}   hookflow / network floor ${ratios.hookflowToNetworkFloor.toFixed(3)}   CPU per delivery / untuned floor ${ratios.cpuToUntunedFloor.toFixed(2)} (/ local-activity floor ${ratios.cpuToLocalFloor.toFixed(2)})`,
      '',
    ].join('\n'),
  );
  const [{ hookflow, limited, routed, temporalFloor, temporalLocalFloor, untunedFloor }] = rounds;
  return {
    ...(options.rounds === 1
      ? { hookflow, limited, routed, temporalFloor, temporalLocalFloor, untunedFloor }
      : { rounds }),
    networkFloor,
    ratios,
  };
}

/** Writes the run's figures as JSON to bench/results/<time>-<kind>.json and returns the file. */
export function writeResult(result: { kind: string }): string {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${result.kind}.json`);
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...result }, null, 2)}\n`);
  return file;
}

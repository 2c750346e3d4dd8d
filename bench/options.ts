// `npm run bench` arguments, parsed once into the options object every part of the bench takes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export type Role = 'all' | 'api' | 'worker';

export interface BenchOptions {
  /** Events published (N) and endpoints each is delivered to (M). */
  events: number;
  endpoints: number;
  /** Publishes (or floor groups) in flight at once, unless `rate` is set. */
  concurrency: number;
  /** Events a second, instead of a concurrency. */
  rate: number | null;
  /** The receiver's delay before it answers, and the share of requests it answers 500. */
  latencyMs: number;
  failureRate: number;
  soakMinutes: number | null;
  /**
   * hookflow and the Temporal floors measured this many times, alternating, on the same servers; the
   * summary reports the median of the rounds' ratios (bench/README.md says why).
   */
  rounds: number;
  /**
   * hookflow as `npm start` runs it: API and worker in one process on one Temporal connection (eager
   * workflow starts); the floors then start their workflows eagerly too.
   */
  singleProcess: boolean;
  /** The processes hookflow runs as: `all`, or `api` and `worker`. */
  roles: readonly Role[];
  /** With --profile, where the API and worker write their .cpuprofile files. */
  profileDir: string | null;
  /**
   * Each round measures hookflow a second time with its endpoints rate limited and limited in flight far
   * above the load (no contention): what the limiter costs a delivery.
   */
  limiter: boolean;
  /**
   * Each round measures hookflow again with the event type in the catalogue (a JSON Schema the payloads
   * match) and a payload filter on every endpoint: what validation and filtering cost a publish.
   */
  routing: boolean;
  /** Only the fan-out measurement: publish answer times at 1, 10, 500 and 5 000 recipients. */
  fanout: boolean;
  /** Only the store measurement: query latencies at 10k, 100k and 1M deliveries (up to this many). */
  scale: number | null;
  /** Only the backlog measurement: a fresh delivery's latency, idle and with this many waiting in backoff. */
  backlog: number | null;
}

export function parseBenchOptions(args = process.argv.slice(2)): BenchOptions {
  const { values } = parseArgs({
    args,
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
      limiter: { type: 'boolean', default: false },
      routing: { type: 'boolean', default: false },
      fanout: { type: 'boolean', default: false },
      scale: { type: 'boolean', default: false },
      'scale-max': { type: 'string', default: '1000000' },
      backlog: { type: 'string' },
    },
  });
  const singleProcess = values['single-process'];
  return {
    events: Number(values.events),
    endpoints: Number(values.endpoints),
    concurrency: Number(values.concurrency),
    rate: values.rate ? Number(values.rate) : null,
    latencyMs: Number(values['latency-ms']),
    failureRate: Number(values['failure-rate']),
    soakMinutes: values.soak ? Number(values.soak) : null,
    rounds: Number(values.rounds),
    singleProcess,
    roles: singleProcess ? ['all'] : ['api', 'worker'],
    profileDir: values.profile ? mkdtempSync(join(tmpdir(), 'hookflow-profile-')) : null,
    limiter: values.limiter,
    routing: values.routing,
    fanout: values.fanout,
    scale: values.scale ? Number(values['scale-max']) : null,
    backlog: values.backlog ? Number(values.backlog) : null,
  };
}

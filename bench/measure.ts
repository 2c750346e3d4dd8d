// What every measurement uses: percentiles, a process's CPU and memory, the arrival pattern of the load, and
// waiting for the receiver's receipts and for idle servers.
import { readFileSync } from 'node:fs';
import type { BenchOptions } from './options';

export function percentiles(samples: number[]) {
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

export type Percentiles = ReturnType<typeof percentiles>;

const CLOCK_TICKS = 100;

/** CPU seconds and peak RSS of a process, from /proc (Linux). */
export function processUsage(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds, peakRssMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

/** One delivery (or floor request) as the receiver saw it arrive and answered it 2xx. */
export interface Receipt {
  key: string;
  at: number;
}

/** Waits for `count` distinct deliveries; returns the first receipt of each (a delivery may arrive twice). */
export async function waitForReceipts(receipts: Receipt[], count: number, timeoutMs: number) {
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
 * flight, or, with a rate, `rate` groups a second. hookflow's tasks are publishes (groups of one, each
 * starting an event's M deliveries at once); the floors' are single workflows or requests, M to a group, so
 * that they face the same arrivals as hookflow rather than the same number spread evenly.
 */
export async function drive(
  { rate, concurrency }: Pick<BenchOptions, 'rate' | 'concurrency'>,
  total: number,
  task: (i: number) => Promise<void>,
  perEvent = 1,
) {
  let next = 0;
  const group = () => {
    const first = next;
    next = Math.min(total, next + perEvent);
    return Promise.all(Array.from({ length: next - first }, (_, k) => task(first + k))).then(() => {});
  };
  if (rate) {
    const started = Date.now();
    const inflight: Promise<void>[] = [];
    for (let g = 0; next < total; g++) {
      const due = started + (g * 1000) / rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      inflight.push(group());
    }
    await Promise.all(inflight);
    return;
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await group();
    }),
  );
}

/**
 * Waits until the embedded servers are idle (under 5 % of a core for a second), at most a minute: the
 * Temporal server keeps working after a measurement (visibility and history tasks of the workflows that
 * just closed), and the next measurement should not pay for it.
 */
export async function settle(serverCpu: () => number[]) {
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

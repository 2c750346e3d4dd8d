// `npm run bench -- --backlog N`: does a backlog slow a new delivery down? Times a fresh delivery's publish →
// receipt on an idle system, then again with N deliveries waiting in backoff (their receivers answered 503;
// the next attempt six hours away), hookflow's API and worker in their own processes on the embedded servers.
import { connectMongo } from '../src/db';
import { Delivery } from '../src/deliveries/model';
import { status } from '../test/helpers/receiver';
import { type Servers, startHookflow } from './hookflow';
import { percentiles } from './measure';
import type { BenchOptions } from './options';
import type { BenchReceiver } from './round';

const FAILING_ENDPOINTS = 100;
const SAMPLES = 30;
/** Deliveries published but not yet attempted, at most, while the backlog fills. */
const AHEAD = 2_000;
// Longer than any fill (100 000 take about an hour here): nothing retries while the backlog is measured.
const BACKOFF_MS = 6 * 3_600_000;

export async function measureBacklog(options: BenchOptions, servers: Servers, bench: BenchReceiver) {
  const backlog = options.backlog ?? 0;
  const hookflow = await startHookflow(options, servers, 16);
  const { call, key, projectId } = hookflow;
  await connectMongo(servers.mongoUri);
  // Counted here: counting the retrying views in FerretDB every few seconds would itself load the system
  // more and more as the backlog grows.
  let failedAttempts = 0;
  const unavailable = status(503);
  bench.receiver.script('/backlog/failing', (req, res) => {
    failedAttempts++;
    unavailable(req, res);
  });
  try {
    await call('/v1/endpoints', key, {
      url: bench.receiver.url('/backlog/ok'),
      event_types: ['backlog.fresh'],
    });
    for (let e = 0; e < FAILING_ENDPOINTS; e++) {
      await call('/v1/endpoints', key, {
        url: bench.receiver.url('/backlog/failing'),
        event_types: ['backlog.stuck'],
        retry: {
          max_attempts: 10,
          initial_interval_ms: BACKOFF_MS,
          backoff_coefficient: 2,
          max_interval_ms: BACKOFF_MS,
        },
        // Never opens within the backlog: every attempt fails on purpose, and held deliveries are not the
        // state measured here.
        circuit_breaker: { failure_rate_pct: 100, min_attempts: 10_000 },
      });
    }

    /** publish → receipt of one fresh delivery at a time, SAMPLES times. */
    const fresh = async () => {
      const ms: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const t0 = Date.now();
        const event = (await call('/v1/events', key, { event_type: 'backlog.fresh', payload: { i } })) as {
          id: string;
        };
        const receiptKey = `${event.id}/backlog/ok`;
        let receipt = bench.receipts.find((r) => r.key === receiptKey);
        while (!receipt) {
          await new Promise((r) => setTimeout(r, 2));
          receipt = bench.receipts.find((r) => r.key === receiptKey);
        }
        ms.push(receipt.at - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
      return percentiles(ms);
    };

    const idle = await fresh();
    process.stdout.write(`fresh delivery, idle: p50 ${idle.p50} ms, p95 ${idle.p95} ms\n`);

    // The backlog: events to the 100 failing endpoints, until N deliveries wait in backoff.
    const t0 = Date.now();
    // Paced: at most AHEAD deliveries published and not yet attempted. Publishing all of them first (1 000
    // fan-outs of 100 at once for 100 000) slowed the fill to 10 a second, against 40 for 30 000.
    const publishes = Math.ceil(backlog / FAILING_ENDPOINTS);
    const target = publishes * FAILING_ENDPOINTS;
    let next = 0;
    let lastReport = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < publishes) {
          if (next * FAILING_ENDPOINTS - failedAttempts > AHEAD) {
            await new Promise((r) => setTimeout(r, 200));
          } else {
            next++;
            await call('/v1/events', key, { event_type: 'backlog.stuck', payload: { n: next } });
          }
          if (Date.now() - lastReport > 10_000) {
            lastReport = Date.now();
            process.stdout.write(`  ${failedAttempts} first attempts failed\n`);
          }
        }
      }),
    );
    while (failedAttempts < target) {
      await new Promise((r) => setTimeout(r, 10_000));
      process.stdout.write(`  ${failedAttempts} first attempts failed\n`);
    }
    // Then every view says so (its `retrying` write follows the attempt).
    let waiting = 0;
    while (waiting < target) {
      waiting = await Delivery.countDocuments({ project_id: projectId, status: 'retrying' });
      process.stdout.write(`  ${waiting} deliveries waiting in backoff\n`);
      if (waiting < target) await new Promise((r) => setTimeout(r, 10_000));
    }
    const fillSeconds = Math.round((Date.now() - t0) / 1000);

    const loaded = await fresh();
    process.stdout.write(
      `fresh delivery, ${waiting} waiting: p50 ${loaded.p50} ms, p95 ${loaded.p95} ms (×${((loaded.p50 ?? 0) / Math.max(1, idle.p50 ?? 1)).toFixed(2)} of idle)\n`,
    );
    return { backlog: waiting, fillSeconds, idleMs: idle, withBacklogMs: loaded };
  } finally {
    await hookflow.stop();
  }
}

// `npm run bench -- --fanout`: how long a publish takes to answer as its number of recipients grows (1, 10,
// 500, 5 000 endpoints), hookflow's API and worker in their own processes on the embedded servers. Only the
// answer is timed.
import type { Servers } from './hookflow';
import { startHookflow } from './hookflow';
import { percentiles, settle } from './measure';
import type { BenchOptions } from './options';
import type { BenchReceiver } from './round';

const SIZES = [1, 10, 500, 5000];
const PUBLISHES_PER_SIZE = 5;

/**
 * Each publish is timed on a quiet system: the bench waits for the deliveries of the one before to arrive
 * and the servers to settle. Per size it also times, apart, the first publish after the endpoints were
 * created (the API reads them into its copy then) and one after a single endpoint changed.
 */
export async function measureFanOut(
  options: BenchOptions,
  servers: Servers,
  bench: BenchReceiver,
  serverCpu: () => number[],
) {
  const receiverUrl = bench.receiver.url('');
  const hookflow = await startHookflow(options, servers, 16);
  const { call, key } = hookflow;
  const results: Record<string, ReturnType<typeof percentiles> & { firstMs: number; afterChangeMs: number }> =
    {};
  let expected = bench.receipts.length;
  const publish = async (type: string, size: number) => {
    const t0 = performance.now();
    await call('/v1/events', key, { event_type: type, payload: { size } });
    const ms = Math.round(performance.now() - t0);
    expected += size;
    const deadline = Date.now() + 300_000;
    while (bench.receipts.length < expected && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    await settle(serverCpu);
    return ms;
  };
  try {
    for (const size of SIZES) {
      const type = `fan.${size}`;
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < size) {
            next++;
            await call('/v1/endpoints', key, { url: `${receiverUrl}/fanout/${size}`, event_types: [type] });
          }
        }),
      );
      const firstMs = await publish(type, size);
      const accept: number[] = [];
      for (let n = 0; n < PUBLISHES_PER_SIZE; n++) accept.push(await publish(type, size));
      await call('/v1/endpoints', key, { url: `${receiverUrl}/fanout/${size}`, event_types: ['other'] });
      const afterChangeMs = await publish(type, size);
      results[String(size)] = { ...percentiles(accept), firstMs, afterChangeMs };
      const r = results[String(size)];
      process.stdout.write(
        `fan-out to ${String(size).padStart(5)} endpoints: accept p50 ${r.p50} ms, max ${r.max} ms; first after creating them ${firstMs} ms, after one endpoint change ${afterChangeMs} ms\n`,
      );
    }
  } finally {
    await hookflow.stop();
  }
  return { publishesPerSize: PUBLISHES_PER_SIZE, acceptMsByRecipients: results };
}

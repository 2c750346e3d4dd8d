// `npm run bench -- --fanout`: how long a publish takes to answer as its number of recipients grows (1, 10,
// 500, 5 000 endpoints), hookflow's API and worker in their own processes on the embedded servers. Only the
// answer is timed; the deliveries go on in the background and are dropped when the bench stops its servers.
import type { Servers } from './hookflow';
import { startHookflow } from './hookflow';
import { percentiles } from './measure';
import type { BenchOptions } from './options';

const SIZES = [1, 10, 500, 5000];
const PUBLISHES_PER_SIZE = 5;

export async function measureFanOut(options: BenchOptions, servers: Servers, receiverUrl: string) {
  const hookflow = await startHookflow(options, servers, 16);
  const { call, key } = hookflow;
  const results: Record<string, ReturnType<typeof percentiles>> = {};
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
      const accept: number[] = [];
      for (let n = 0; n < PUBLISHES_PER_SIZE; n++) {
        const t0 = performance.now();
        await call('/v1/events', key, { event_type: type, payload: { size, n } });
        accept.push(Math.round(performance.now() - t0));
      }
      results[String(size)] = percentiles(accept);
      process.stdout.write(
        `fan-out to ${String(size).padStart(5)} endpoints: accept p50 ${results[String(size)].p50} ms, max ${results[String(size)].max} ms\n`,
      );
    }
  } finally {
    await hookflow.stop();
  }
  return { publishesPerSize: PUBLISHES_PER_SIZE, acceptMsByRecipients: results };
}

// `--soak MINUTES`: hookflow at a steady publish rate, its processes' RSS and JS heap sampled every 5 s.
import { type Servers, startHookflow } from './hookflow';
import { processUsage } from './measure';
import type { BenchOptions, Role } from './options';

export async function soak(options: BenchOptions, servers: Servers, receiverUrl: string, minutes: number) {
  const rate = options.rate ?? 20;
  const hookflow = await startHookflow(options, servers, 8);
  const { call, key } = hookflow;
  await call('/v1/endpoints', key, { url: `${receiverUrl}/soak`, event_types: ['soak'] });
  type Sample = {
    t: number;
    apiRssMiB: number;
    workerRssMiB: number;
    apiHeapUsedMiB: number;
    workerHeapUsedMiB: number;
  };
  const samples: Sample[] = [];
  const started = Date.now();
  const [apiRole, workerRole]: Role[] = options.singleProcess ? ['all', 'all'] : ['api', 'worker'];
  // RSS says what the machine pays; the JS heap in use, sampled alongside, tells retained objects from an
  // allocator or a heap that has not been collected yet.
  const sampler = setInterval(async () => {
    const t = Math.round((Date.now() - started) / 1000);
    const [apiHeapUsedMiB, workerHeapUsedMiB] = await Promise.all(
      [apiRole, workerRole].map((role) => hookflow.heapUsedMiB(role).catch(() => Number.NaN)),
    );
    samples.push({
      t,
      apiRssMiB: processUsage(hookflow.pids[apiRole]).rssMiB,
      workerRssMiB: processUsage(hookflow.pids[workerRole]).rssMiB,
      apiHeapUsedMiB,
      workerHeapUsedMiB,
    });
  }, 5000);
  let published = 0;
  const end = started + minutes * 60_000;
  while (Date.now() < end) {
    const due = started + (published * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    void call('/v1/events', key, { event_type: 'soak', payload: { n: published } }).catch(() => {});
    published++;
  }
  clearInterval(sampler);
  await hookflow.stop();
  const minute = samples.filter((s) => s.t <= 60);
  const last = samples.filter((s) => s.t >= minutes * 60 - 60);
  const perMinute = Array.from({ length: minutes }, (_, m) => {
    const inMinute = samples.filter((s) => s.t > m * 60 && s.t <= (m + 1) * 60);
    const most = (pick: (s: Sample) => number) => Math.round(Math.max(...inMinute.map(pick)));
    // The least heap in use seen in the minute: what survived that minute's collections.
    const least = (pick: (s: Sample) => number) => Math.round(Math.min(...inMinute.map(pick)) * 10) / 10;
    return {
      minute: m + 1,
      apiRssMiBPeak: most((s) => s.apiRssMiB),
      workerRssMiBPeak: most((s) => s.workerRssMiB),
      apiHeapUsedMiBLeast: least((s) => s.apiHeapUsedMiB),
      workerHeapUsedMiBLeast: least((s) => s.workerHeapUsedMiB),
    };
  });
  for (const row of perMinute) process.stdout.write(`${JSON.stringify(row)}\n`);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    minutes,
    rate,
    published,
    samples,
    apiRssMiB: {
      firstMinute: avg(minute.map((s) => s.apiRssMiB)),
      lastMinute: avg(last.map((s) => s.apiRssMiB)),
    },
    workerRssMiB: {
      firstMinute: avg(minute.map((s) => s.workerRssMiB)),
      lastMinute: avg(last.map((s) => s.workerRssMiB)),
    },
    perMinute,
  };
}

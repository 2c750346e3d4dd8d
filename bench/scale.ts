// `npm run bench -- --scale`: the embedded store as it grows. It is filled straight through the driver with
// documents shaped as hookflow writes them (10 000 endpoints of 1 000 consumers, API keys, and events of 10
// deliveries each, spread over 30 days), to 10k, 100k and 1M deliveries; at each size it times, 30 times each:
// the list routes with each filter through hookflow's API process, and, in this process on the same store, a
// publish's recipient lookup, an API key check and the planning query of a bulk replay.

import { targetFilter } from '../activities/bulk-replay';
import { ApiKeyVerifier, issueApiKey } from '../src/api-keys/model';
import { Consumer } from '../src/consumers/model';
import { connectMongo } from '../src/db';
import { Delivery, type DeliveryDoc } from '../src/deliveries/model';
import { DELIVERY_STATUSES } from '../src/deliveries/status';
import { Endpoint } from '../src/endpoints/model';
import { Event, type EventDoc, newEvent } from '../src/events/model';
import { subscribedEndpoints } from '../src/events/publish';
import { derivedIds, newId } from '../src/ids';
import { type Servers, startHookflow } from './hookflow';
import { percentiles } from './measure';
import type { BenchOptions } from './options';

const CONSUMERS = 1000;
const ENDPOINTS_PER_CONSUMER = 10;
const EVENT_TYPES = Array.from({ length: 20 }, (_, i) => `scale.type${i}`);
const SAMPLES = 30;
const DAYS_MS = 30 * 86_400_000;
const BATCH = 1000;

type Timings = Record<string, ReturnType<typeof percentiles>>;

const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)];

async function timed(samples: number, run: (i: number) => Promise<unknown>) {
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await run(i);
    ms.push(Math.round((performance.now() - t0) * 10) / 10);
  }
  return percentiles(ms);
}

export async function measureScale(options: BenchOptions, servers: Servers, receiverUrl: string) {
  const maxDeliveries = options.scale ?? 1_000_000;
  const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= maxDeliveries);
  const hookflow = await startHookflow(options, servers, 4);
  await connectMongo(servers.mongoUri);
  const projectId = hookflow.projectId;
  const started = Date.now() - DAYS_MS;
  const t0 = performance.now();

  // Consumers and their endpoints, each endpoint subscribed to 2 of the 20 event types.
  const consumers = Array.from({ length: CONSUMERS }, (_, c) => {
    const id = newId('con', started + c);
    return { _id: id, project_id: projectId, name: `c${c}`, uid: `u${c}`, uid_key: `u${c}`, metadata: {} };
  });
  await Consumer.collection.insertMany(consumers.map((c) => new Consumer(c).toObject()) as never[]);
  const endpoints = consumers.flatMap((consumer, c) =>
    Array.from({ length: ENDPOINTS_PER_CONSUMER }, (_, e) =>
      new Endpoint({
        _id: newId('ep', started + c),
        project_id: projectId,
        consumer_id: consumer._id,
        url: `${receiverUrl}/scale/${c}/${e}`,
        event_types: [EVENT_TYPES[(c + e) % 20], EVENT_TYPES[(c + e + 7) % 20]],
        secrets: [{ secret: 'whsec_c2NhbGU=', created_at: new Date() }],
      }).toObject(),
    ),
  );
  for (let i = 0; i < endpoints.length; i += BATCH) {
    await Endpoint.collection.insertMany(endpoints.slice(i, i + BATCH) as never[]);
  }
  const keys: string[] = [];
  for (let k = 0; k < 200; k++) keys.push((await issueApiKey(projectId, `scale ${k}`)).key);

  // Events of one consumer each, delivered to its 10 endpoints; statuses as a busy month leaves them.
  const statusOf = (n: number) =>
    n % 100 < 90
      ? 'succeeded'
      : n % 100 < 95
        ? 'failed'
        : n % 100 < 99
          ? 'retrying'
          : pick(DELIVERY_STATUSES);
  let stored = 0;
  const eventIds: string[] = [];
  const fill = async (target: number) => {
    const events: EventDoc[] = [];
    const deliveries: DeliveryDoc[] = [];
    const flush = async () => {
      if (events.length) await Event.collection.insertMany(events.splice(0) as never[]);
      if (deliveries.length) await Delivery.collection.insertMany(deliveries.splice(0) as never[]);
    };
    while (stored < target) {
      const n = stored / ENDPOINTS_PER_CONSUMER;
      const at = new Date(started + Math.floor((n / (maxDeliveries / 10)) * DAYS_MS));
      const c = n % CONSUMERS;
      const eventType = EVENT_TYPES[n % 20];
      const event = newEvent(
        {
          _id: newId('evt', at.getTime()),
          project_id: projectId,
          consumer_id: consumers[c]._id,
          event_type: eventType,
          payload_json: JSON.stringify({ order: n, amount: n % 1000 }),
          idempotency_key: null,
          dedupe_key: `evt:${n}`,
          headers: {},
          endpoint_ids: null,
          operational: false,
          channels: [],
          deliver_at: null,
        },
        at,
      );
      events.push(event);
      if (eventIds.length < 10_000 || Math.random() < 0.01) eventIds.push(event._id);
      for (let e = 0; e < ENDPOINTS_PER_CONSUMER; e++) {
        const endpoint = endpoints[c * ENDPOINTS_PER_CONSUMER + e];
        const id = derivedIds.initialDelivery(event._id, endpoint._id);
        const status = statusOf(stored);
        deliveries.push({
          ...new Delivery({
            _id: id,
            project_id: projectId,
            consumer_id: consumers[c]._id,
            endpoint_id: endpoint._id,
            event_id: event._id,
            event_type: eventType,
            url: endpoint.url,
            status,
            attempts: status === 'succeeded' ? 1 : 3,
            last_status_code: status === 'succeeded' ? 200 : 503,
            workflow_id: `delivery-${id}`,
          }).toObject(),
          created_at: at,
          updated_at: at,
        });
        stored++;
      }
      if (deliveries.length >= BATCH) await flush();
    }
    await flush();
  };

  const verifier = new ApiKeyVerifier(0);
  const recipientsOf = (consumerId: string | null) =>
    subscribedEndpoints({
      project_id: projectId,
      consumer_id: consumerId,
      event_type: pick(EVENT_TYPES),
      endpoint_ids: null,
      operational: false,
      channels: [],
      payload_json: '{}',
      headers: {},
    });
  const curve: { deliveries: number; fillSeconds: number; ms: Timings }[] = [];
  try {
    for (const size of sizes) {
      await fill(size);
      const fillSeconds = Math.round((performance.now() - t0) / 1000);
      const { get, key } = hookflow;
      const list = (query: () => string) => () => get(`/v1/deliveries?limit=50${query()}`, key);
      const day = (n: number) => new Date(started + n * 86_400_000).toISOString();
      const ms: Timings = {};
      const cases: [string, () => Promise<unknown>][] = [
        ['deliveries', list(() => '')],
        ['deliveries ?status=failed', list(() => '&status=failed')],
        ['deliveries ?endpoint_id', list(() => `&endpoint_id=${pick(endpoints)._id}`)],
        ['deliveries ?consumer_id', list(() => `&consumer_id=${pick(consumers)._id}`)],
        ['deliveries ?event_type', list(() => `&event_type=${pick(EVENT_TYPES)}`)],
        ['deliveries ?event_id', list(() => `&event_id=${pick(eventIds)}`)],
        [
          'deliveries ?since&until (one day)',
          list(() => {
            const d = Math.floor(Math.random() * 29);
            return `&since=${day(d)}&until=${day(d + 1)}`;
          }),
        ],
        [
          'deliveries ?status=failed&cursor',
          list(
            () => `&status=failed&cursor=${derivedIds.initialDelivery(pick(eventIds), pick(endpoints)._id)}`,
          ),
        ],
        ['events ?event_type', () => get(`/v1/events?limit=50&event_type=${pick(EVENT_TYPES)}`, key)],
        [
          'endpoints ?consumer_id',
          () => get(`/v1/endpoints?limit=50&consumer_id=${pick(consumers)._id}`, key),
        ],
        ['consumers', () => get('/v1/consumers?limit=50', key)],
        ['recipient lookup (one consumer)', () => recipientsOf(pick(consumers)._id)],
        ['api key check', () => verifier.verify(pick(keys))],
        [
          'bulk replay planning (endpoint, failed)',
          () =>
            Delivery.find(
              {
                $and: [
                  targetFilter({
                    project_id: projectId,
                    filter: { endpoint_id: pick(endpoints)._id, status: 'failed' },
                  }),
                  { _id: { $lt: newId('dlv') } },
                ],
              },
              { _id: 1 },
            )
              .sort({ _id: 1 })
              .lean(),
        ],
      ];
      for (const [name, run] of cases) {
        await run(); // warm-up
        ms[name] = await timed(SAMPLES, run);
        process.stdout.write(
          `${String(size).padStart(8)} deliveries  ${name.padEnd(42)} p50 ${String(ms[name].p50).padStart(7)} ms  p95 ${String(ms[name].p95).padStart(7)} ms\n`,
        );
      }
      // A publish to the whole project: from the API's copy of its 10 000 endpoints (5 samples, after one
      // that makes the copy).
      await recipientsOf(null);
      ms['recipient lookup (whole project, 10 000 endpoints)'] = await timed(5, () => recipientsOf(null));
      process.stdout.write(
        `${String(size).padStart(8)} deliveries  recipient lookup, whole project            p50 ${ms['recipient lookup (whole project, 10 000 endpoints)'].p50} ms\n`,
      );
      curve.push({ deliveries: size, fillSeconds, ms });
    }
  } finally {
    await hookflow.stop();
  }
  return { endpoints: endpoints.length, consumers: CONSUMERS, samples: SAMPLES, curve };
}

// GET /v1/endpoints/{id}/stats and GET /v1/stats: per hour or day, deliveries by final status, attempts,
// success rate and attempt duration percentiles, added up from the per-writer hourly documents.
import Router from '@koa/router';
import { z } from 'zod';
import { findInScope } from '../consumers/scope';
import { Endpoint } from '../endpoints/model';
import { auth, projectKeyOnly } from '../http/auth';
import { fieldError, notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { parsePath, parseQuery, resourceId, timestamp } from '../http/validate';
import { HOUR_MS, StatsBucket, type StatsBucketDoc } from './model';
import { merge, quantile, type Sketch } from './sketch';

const DAY_MS = 24 * HOUR_MS;
/** Buckets in one answer at most: a month of hours, a year of days. */
const MAX_BUCKETS = { hour: 24 * 31, day: 366 } as const;

const StatsQuery = z.object({
  since: timestamp.optional().meta({ description: 'Start (RFC 3339; default: 24 hours before `until`).' }),
  until: timestamp.optional().meta({ description: 'End, exclusive (RFC 3339; default: now).' }),
  granularity: z.enum(['hour', 'day']).default('hour'),
});
const EndpointPath = z.object({ id: resourceId('ep') });

const StatsBucketResource = z.strictObject({
  start: z.date(),
  deliveries: z
    .strictObject({ succeeded: z.number(), failed: z.number(), cancelled: z.number() })
    .meta({ description: 'Deliveries that reached each final status in the bucket.' }),
  attempts: z.strictObject({ total: z.number(), succeeded: z.number(), failed: z.number() }),
  success_rate: z
    .number()
    .nullable()
    .meta({ description: 'succeeded / (succeeded + failed) deliveries; null without any.' }),
  attempt_duration_ms: z
    .strictObject({ p50: z.number(), p95: z.number() })
    .nullable()
    .meta({ description: 'Within 5 % (a mergeable log-bucket sketch); null without attempts.' }),
});
const StatsResource = z
  .strictObject({
    granularity: z.enum(['hour', 'day']),
    since: z.date(),
    until: z.date(),
    data: z.array(StatsBucketResource.meta({ id: 'StatsBucket' })),
  })
  .meta({ id: 'Stats' });

export const statsDocs: RouteDocs = {
  'GET /v1/endpoints/{id}/stats': {
    tag: 'Statistics',
    summary: "An endpoint's delivery statistics",
    path: EndpointPath,
    query: StatsQuery,
    responses: { 200: { description: 'One bucket per hour or day, oldest first.', schema: StatsResource } },
  },
  'GET /v1/stats': {
    tag: 'Statistics',
    summary: "The project's delivery statistics",
    query: StatsQuery,
    responses: { 200: { description: 'One bucket per hour or day, oldest first.', schema: StatsResource } },
  },
};

async function statsOf(scope: string, q: z.infer<typeof StatsQuery>) {
  const size = q.granularity === 'hour' ? HOUR_MS : DAY_MS;
  const until = q.until ?? new Date();
  const since = q.since ?? new Date(until.getTime() - DAY_MS);
  if (since >= until) throw fieldError('query', ['since'], 'must be before until');
  const first = Math.floor(since.getTime() / size) * size;
  const count = Math.ceil((until.getTime() - first) / size);
  if (count > MAX_BUCKETS[q.granularity])
    throw fieldError('query', ['since'], `at most ${MAX_BUCKETS[q.granularity]} ${q.granularity}s at once`);
  const docs = (await StatsBucket.collection
    .find({ scope, hour: { $gte: new Date(first), $lt: until } } as never)
    .toArray()) as unknown as StatsBucketDoc[];
  const buckets = Array.from({ length: count }, (_, n) => ({
    start: new Date(first + n * size),
    deliveries: { succeeded: 0, failed: 0, cancelled: 0 },
    attempts: { succeeded: 0, failed: 0 },
    durations: {} as Sketch,
  }));
  for (const doc of docs) {
    const b = buckets[Math.floor((doc.hour.getTime() - first) / size)];
    if (!b) continue;
    for (const k of ['succeeded', 'failed', 'cancelled'] as const) b.deliveries[k] += doc.deliveries[k] ?? 0;
    for (const k of ['succeeded', 'failed'] as const) b.attempts[k] += doc.attempts[k] ?? 0;
    merge(b.durations, doc.durations ?? {});
  }
  return {
    granularity: q.granularity,
    since,
    until,
    data: buckets.map((b) => {
      const ended = b.deliveries.succeeded + b.deliveries.failed;
      const p50 = quantile(b.durations, 0.5);
      const p95 = quantile(b.durations, 0.95);
      return {
        start: b.start,
        deliveries: b.deliveries,
        attempts: { total: b.attempts.succeeded + b.attempts.failed, ...b.attempts },
        success_rate: ended === 0 ? null : b.deliveries.succeeded / ended,
        attempt_duration_ms: p50 === null || p95 === null ? null : { p50, p95 },
      };
    }),
  };
}

export function statsRoutes(): Router {
  const router = new Router();
  router.get('/v1/endpoints/:id/stats', async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const q = parseQuery(ctx, StatsQuery);
    if (!(await findInScope(ctx, Endpoint, id))) throw notFound('endpoint');
    ctx.body = await statsOf(id, q);
  });
  router.get('/v1/stats', projectKeyOnly, async (ctx) => {
    const q = parseQuery(ctx, StatsQuery);
    ctx.body = await statsOf(auth(ctx).projectId, q);
  });
  return router;
}

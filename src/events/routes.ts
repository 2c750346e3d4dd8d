import Router from '@koa/router';
import { z } from 'zod';
import { findOwned } from '../db';
import { presentDelivery } from '../deliveries/model';
import { createReplayDelivery, latestDelivery } from '../deliveries/replay';
import type { TemporalTarget } from '../deliveries/start';
import { Endpoint, subscribes } from '../endpoints/model';
import { auth } from '../http/auth';
import { notFound } from '../http/errors';
import { createdBetween, listPage, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery, resourceId, timestamp } from '../http/validate';
import { Event, presentEvent } from './model';
import { publishEvent } from './publish';
import { idempotencyKey, PublishEventBody } from './schemas';

const EventPath = z.object({ id: resourceId('evt') });
const ListQuery = z.object({
  ...pageQuery,
  event_type: z.string().max(128).optional(),
  since: timestamp.optional(),
  until: timestamp.optional(),
});

export function eventRoutes(temporal: TemporalTarget): Router {
  const router = new Router();

  router.post('/v1/events', async (ctx) => {
    const body = parseBody(ctx, PublishEventBody);
    // Stripe-style Idempotency-Key header, for clients that prefer it to the body field.
    const header = ctx.get('idempotency-key');
    if (header && !body.idempotency_key) body.idempotency_key = parseHeaderKey(header);
    const result = await publishEvent(temporal, auth(ctx).projectId, body);
    ctx.status = result.duplicate ? 200 : 202;
    ctx.body = {
      ...presentEvent(result.event),
      is_duplicate: result.duplicate,
      deliveries: result.deliveries.map(presentDelivery),
    };
  });

  router.get('/v1/events', async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    const filter = {
      project_id: auth(ctx).projectId,
      ...(q.event_type ? { event_type: q.event_type } : {}),
      ...createdBetween(q.since, q.until),
    };
    ctx.body = await listPage(Event, filter, q, presentEvent);
  });

  router.get('/v1/events/:id', async (ctx) => {
    const { id } = parsePath(ctx, EventPath);
    const event = await findOwned(Event, id, auth(ctx).projectId);
    if (!event) throw notFound('event');
    ctx.body = presentEvent(event);
  });

  // Convoy's replay: the event afresh to every endpoint subscribed to it now (active ones; for an event
  // published with endpoint_ids, those of them that are active).
  router.post('/v1/events/:id/replay', async (ctx) => {
    const { id } = parsePath(ctx, EventPath);
    const { projectId } = auth(ctx);
    const event = await findOwned(Event, id, projectId);
    if (!event) throw notFound('event');
    const candidates = await Endpoint.find({
      project_id: projectId,
      status: 'active',
      ...(event.endpoint_ids ? { _id: { $in: event.endpoint_ids } } : {}),
    }).lean();
    const endpoints = candidates.filter((ep) => event.endpoint_ids || subscribes(ep, event.event_type));
    const deliveries = await Promise.all(
      endpoints.map(async (endpoint) => {
        const previous = await latestDelivery(projectId, event._id, endpoint._id);
        return createReplayDelivery(temporal, {
          event,
          endpoint,
          trigger: 'replay',
          replayOf: previous?._id ?? null,
        });
      }),
    );
    ctx.status = 202;
    ctx.body = { event_id: event._id, deliveries: deliveries.map(presentDelivery) };
  });

  return router;
}

function parseHeaderKey(value: string): string {
  const parsed = idempotencyKey.safeParse(value);
  if (!parsed.success) return value.slice(0, 255);
  return parsed.data;
}

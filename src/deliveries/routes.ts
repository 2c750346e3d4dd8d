import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { consumerRef } from '../consumers/schemas';
import { consumerIdOf, consumerScope, findEventInScope, findInScope } from '../consumers/scope';
import { findOwned } from '../db';
import { Endpoint } from '../endpoints/model';
import { Event } from '../events/model';
import { auth } from '../http/auth';
import { notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { createdBetween, listPage, pageOf, pageQuery } from '../http/pagination';
import { parsePath, parseQuery, resourceId, timestamp } from '../http/validate';
import { signalDelivery } from './control';
import {
  AttemptResource,
  Delivery,
  DeliveryAttempt,
  DeliveryResource,
  presentAttempt,
  presentDelivery,
} from './model';
import { assertReplayable, assertSendable, createReplayDelivery, latestDeliveryByEndpoint } from './replay';
import type { TemporalTarget } from './start';
import { DELIVERY_STATUSES } from './status';

const DeliveryPath = z.object({ id: resourceId('dlv') });
const ResendPath = z.object({ endpoint_id: resourceId('ep'), event_id: resourceId('evt') });
const ListQuery = z.object({
  ...pageQuery,
  consumer_id: consumerRef.optional(),
  endpoint_id: resourceId('ep').optional(),
  event_id: resourceId('evt').optional(),
  event_type: z.string().max(128).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  since: timestamp.optional(),
  until: timestamp.optional(),
});
const AttemptsQuery = z.object({
  limit: pageQuery.limit,
  cursor: z.coerce.number().int().min(0).optional().meta({ description: 'The last attempt number seen.' }),
});

const one = (description: string) => ({ description, schema: DeliveryResource });
const NOT_REPLAYABLE =
  "The endpoint is paused or disabled (resume it first), or the event's payload was expunged.";

export const deliveryDocs: RouteDocs = {
  'GET /v1/deliveries': {
    tag: 'Deliveries',
    summary: 'List deliveries',
    query: ListQuery,
    responses: {
      200: { description: 'A page of deliveries.', schema: pageOf(DeliveryResource, 'DeliveryPage') },
    },
  },
  'GET /v1/deliveries/{id}': {
    tag: 'Deliveries',
    summary: 'Get a delivery',
    path: DeliveryPath,
    responses: { 200: one('The delivery.') },
  },
  'POST /v1/deliveries/{id}/cancel': {
    tag: 'Deliveries',
    summary: 'Cancel a delivery',
    description: 'Stops it now, even in the middle of its backoff; an attempt in flight finishes first.',
    path: DeliveryPath,
    responses: { 202: one('Cancel requested; the delivery turns `cancelled` in a moment.') },
    errors: { 409: 'The delivery is already final.' },
  },
  'POST /v1/deliveries/{id}/retry': {
    tag: 'Deliveries',
    summary: 'Retry a delivery now',
    description: 'Skips the rest of the backoff of a `retrying` delivery.',
    path: DeliveryPath,
    responses: { 202: one('Retry requested.') },
    errors: { 409: 'The delivery is not retrying.' },
  },
  'POST /v1/deliveries/{id}/replay': {
    tag: 'Deliveries',
    summary: 'Replay a delivery',
    description: 'A new delivery of the same event to the same endpoint; the original stays as it is.',
    path: DeliveryPath,
    responses: { 202: one('The new delivery, started.') },
    errors: { 409: NOT_REPLAYABLE },
  },
  'POST /v1/endpoints/{endpoint_id}/events/{event_id}/resend': {
    tag: 'Deliveries',
    summary: 'Resend an event to an endpoint',
    path: ResendPath,
    responses: { 202: one('The new delivery, started.') },
    errors: { 409: NOT_REPLAYABLE },
  },
  'GET /v1/deliveries/{id}/attempts': {
    tag: 'Deliveries',
    summary: 'List the attempts of a delivery',
    path: DeliveryPath,
    query: AttemptsQuery,
    responses: {
      200: { description: 'Attempts, oldest first.', schema: pageOf(AttemptResource, 'AttemptPage') },
    },
  },
};

export function deliveryRoutes(temporal: TemporalTarget): Router {
  const router = new Router();

  const findDelivery = async (ctx: Context, id: string) => {
    const delivery = await findInScope(ctx, Delivery, id);
    if (!delivery) throw notFound('delivery');
    return delivery;
  };

  router.get('/v1/deliveries', async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    const { projectId } = auth(ctx);
    const filter = {
      project_id: projectId,
      ...consumerScope(ctx),
      ...(q.consumer_id ? { consumer_id: await consumerIdOf(ctx, q.consumer_id, 'query') } : {}),
      ...(q.endpoint_id ? { endpoint_id: q.endpoint_id } : {}),
      ...(q.event_id ? { event_id: q.event_id } : {}),
      ...(q.event_type ? { event_type: q.event_type } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...createdBetween('dlv', q.since, q.until),
    };
    ctx.body = await listPage(Delivery, filter, q, presentDelivery);
  });

  router.get('/v1/deliveries/:id', async (ctx) => {
    const { id } = parsePath(ctx, DeliveryPath);
    ctx.body = presentDelivery(await findDelivery(ctx, id));
  });

  for (const [action, signal] of [
    ['cancel', 'cancel'],
    ['retry', 'retryNow'],
  ] as const) {
    router.post(`/v1/deliveries/:id/${action}`, async (ctx) => {
      const { id } = parsePath(ctx, DeliveryPath);
      const delivery = await findDelivery(ctx, id);
      await signalDelivery(temporal, delivery, signal);
      ctx.status = 202;
      ctx.body = presentDelivery(delivery);
    });
  }

  // A new delivery of the same event to the same endpoint (the original is left as it is).
  router.post('/v1/deliveries/:id/replay', async (ctx) => {
    const { id } = parsePath(ctx, DeliveryPath);
    const { projectId } = auth(ctx);
    const original = await findDelivery(ctx, id);
    const [event, endpoint] = await Promise.all([
      findOwned(Event, original.event_id, projectId),
      findOwned(Endpoint, original.endpoint_id, projectId),
    ]);
    if (!event) throw notFound('event');
    if (!endpoint) throw notFound('endpoint');
    await assertSendable(event);
    assertReplayable(endpoint);
    const delivery = await createReplayDelivery(temporal, {
      event,
      endpoint,
      trigger: 'replay',
      replayOf: original._id,
    });
    ctx.status = 202;
    ctx.body = presentDelivery(delivery);
  });

  // Violet's resend: one event to one endpoint of the project, whether or not it was delivered there before.
  router.post('/v1/endpoints/:endpoint_id/events/:event_id/resend', async (ctx) => {
    const params = parsePath(ctx, ResendPath);
    const { projectId } = auth(ctx);
    const [event, endpoint] = await Promise.all([
      findEventInScope(ctx, params.event_id),
      findInScope(ctx, Endpoint, params.endpoint_id),
    ]);
    if (!endpoint) throw notFound('endpoint');
    if (!event) throw notFound('event');
    await assertSendable(event);
    assertReplayable(endpoint);
    const previous = (await latestDeliveryByEndpoint(projectId, event._id)).get(endpoint._id);
    const delivery = await createReplayDelivery(temporal, {
      event,
      endpoint,
      trigger: 'resend',
      replayOf: previous?._id ?? null,
    });
    ctx.status = 202;
    ctx.body = presentDelivery(delivery);
  });

  // Attempts in order; the cursor is the last attempt number seen.
  router.get('/v1/deliveries/:id/attempts', async (ctx) => {
    const { id } = parsePath(ctx, DeliveryPath);
    const q = parseQuery(ctx, AttemptsQuery);
    const { projectId } = auth(ctx);
    await findDelivery(ctx, id);
    const docs = await DeliveryAttempt.find({
      delivery_id: id,
      project_id: projectId,
      ...(q.cursor !== undefined ? { attempt: { $gt: q.cursor } } : {}),
    })
      .sort({ attempt: 1 })
      .limit(q.limit + 1)
      .lean();
    const more = docs.length > q.limit;
    const shown = more ? docs.slice(0, q.limit) : docs;
    ctx.body = {
      data: shown.map(presentAttempt),
      next_cursor: more ? String(shown[shown.length - 1].attempt) : null,
    };
  });

  return router;
}

import Router from '@koa/router';
import { z } from 'zod';
import { consumerRef } from '../consumers/schemas';
import { consumerEventIds, consumerIdOf, findEventInScope, findInScope } from '../consumers/scope';
import { findOwned } from '../db';
import { signalDelivery } from '../deliveries/control';
import { Delivery, type DeliveryDoc, DeliveryResource, presentDelivery } from '../deliveries/model';
import { assertReplayable, assertSendable } from '../deliveries/replay';
import { startDeliveries, type TemporalTarget } from '../deliveries/start';
import { FINAL_STATUSES } from '../deliveries/status';
import { Endpoint } from '../endpoints/model';
import { routingStamp } from '../endpoints/routing-stamp';
import { eventTypeName } from '../endpoints/schemas';
import { assertPublishable } from '../event-types/routes';
import { auth, projectKeyOnly } from '../http/auth';
import { fieldError, notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { createdBetween, listPage, pageAnswer, pageOf, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery, resourceId, timestamp } from '../http/validate';
import { idTime, idTimeRange, newId } from '../ids';
import { eventsPublished } from '../metrics';
import { INLINE_RECIPIENTS, planFanOut, replayDeliveries } from './fan-out';
import { Event, type EventDoc, EventResource, presentEvent } from './model';
import { publishEvent, subscribedEndpoints } from './publish';
import { sampleEventType, subscribes } from './routing';
import { idempotencyKey, PublishEventBody } from './schemas';

const EventPath = z.object({ id: resourceId('evt') });
const ListQuery = z.object({
  ...pageQuery,
  event_type: z.string().max(128).optional(),
  consumer_id: consumerRef.optional(),
  since: timestamp.optional(),
  until: timestamp.optional(),
});
const IdempotencyHeader = z.object({
  'idempotency-key': idempotencyKey.optional().meta({ description: 'Same as the body field, Stripe style.' }),
});
const Published = EventResource.extend({
  is_duplicate: z.boolean(),
  deliveries: z.array(DeliveryResource).meta({
    description: `The deliveries, started; empty for more than ${INLINE_RECIPIENTS} recipients, whose deliveries a fan-out workflow starts.`,
  }),
  deliveries_total: z.number().meta({ description: 'How many deliveries the event gets (listed or not).' }),
  deliveries_url: z.string().meta({ description: 'Where to list them: /v1/deliveries?event_id=…' }),
}).meta({ id: 'PublishedEvent' });

const EndpointPath = z.object({ id: resourceId('ep') });
export const TestEventBody = z.strictObject({
  event_type: eventTypeName
    .optional()
    .meta({ description: 'One the endpoint subscribes to; by default its first, or hookflow.test.' }),
});

export const eventDocs: RouteDocs = {
  'POST /v1/events': {
    tag: 'Events',
    summary: 'Publish an event',
    description:
      'Stores the event and starts one delivery per subscribed active endpoint before answering. ' +
      'Publishing again with the same idempotency key answers the first event (200) and starts nothing.',
    body: PublishEventBody,
    headers: IdempotencyHeader,
    responses: {
      202: { description: 'Accepted: every delivery has started.', schema: Published },
      200: { description: 'A repeat of an earlier publish with this idempotency key.', schema: Published },
    },
  },
  'POST /v1/endpoints/{id}/test': {
    tag: 'Events',
    summary: 'Send a test event to an endpoint',
    description: 'Publishes a small test payload to this endpoint alone; a portal session may use it.',
    path: EndpointPath,
    body: TestEventBody,
    bodyOptional: true,
    responses: { 202: { description: 'Accepted: the delivery has started.', schema: Published } },
    errors: { 409: 'The endpoint is paused or disabled.' },
  },
  'GET /v1/events': {
    tag: 'Events',
    summary: 'List events',
    query: ListQuery,
    responses: { 200: { description: 'A page of events.', schema: pageOf(EventResource, 'EventPage') } },
  },
  'GET /v1/events/{id}': {
    tag: 'Events',
    summary: 'Get an event',
    path: EventPath,
    responses: { 200: { description: 'The event.', schema: EventResource } },
  },
  'DELETE /v1/events/{id}/payload': {
    tag: 'Events',
    summary: "Expunge an event's payload",
    description:
      'Removes the payload now (e.g. for a GDPR erasure request) and cancels the deliveries of the event that have not finished: no attempt after this sends it (one already in flight may finish). The event, its deliveries and their attempts stay; replays and resends of it answer 409. Repeating it answers the same.',
    path: EventPath,
    responses: {
      200: {
        description: 'The event, its payload gone.',
        schema: EventResource.extend({
          deliveries_cancelled: z
            .number()
            .meta({ description: 'Unfinished deliveries this call cancelled.' }),
        }).meta({ id: 'ExpungedEvent' }),
      },
    },
  },
  'POST /v1/events/{id}/replay': {
    tag: 'Events',
    summary: 'Replay an event',
    errors: { 409: "The event's payload was expunged." },
    description: `A new delivery to every endpoint subscribed to the event now. Up to ${INLINE_RECIPIENTS} are started before the answer and listed in it; more are started by a durable fan-out workflow after it (none lost if the API dies once it has answered), and the answer says how many and where to list them.`,
    path: EventPath,
    responses: {
      202: {
        description: 'The new deliveries, started.',
        schema: z
          .strictObject({
            event_id: z.string(),
            replay_id: z.string().meta({
              description: 'This replay; a large one is the Temporal workflow `fanout-<replay_id>`.',
            }),
            deliveries: z.array(DeliveryResource).meta({
              description: `The new deliveries, started; empty for more than ${INLINE_RECIPIENTS} recipients, whose deliveries a fan-out workflow starts.`,
            }),
            deliveries_total: z.number().meta({ description: 'How many new deliveries the replay makes.' }),
            deliveries_url: z.string().meta({
              description: "Where to list them: the event's deliveries made from the replay's time on.",
            }),
          })
          .meta({ id: 'EventReplay' }),
      },
    },
  },
};

export function eventRoutes(temporal: TemporalTarget): Router {
  const router = new Router();

  router.post('/v1/events', projectKeyOnly, async (ctx) => {
    const body = parseBody(ctx, PublishEventBody);
    // Stripe-style Idempotency-Key header, for clients that prefer it to the body field.
    const header = ctx.get('idempotency-key');
    if (header && !body.idempotency_key) body.idempotency_key = parseHeaderKey(header);
    const { projectId } = auth(ctx);
    // One read tells whether this process's copies of the project's catalogue and endpoints are current.
    const stamp = await routingStamp(projectId);
    const [consumerId] = await Promise.all([
      body.consumer_id ? consumerIdOf(ctx, body.consumer_id, { body: ['consumer_id'] }) : null,
      // The catalogue: an archived type, a payload off its schema, or an unknown type in a strict project.
      assertPublishable(projectId, body.event_type, body.payload, stamp),
    ]);
    const result = await publishEvent(temporal, projectId, body, consumerId, { stamp });
    eventsPublished.inc({ result: result.duplicate ? 'duplicate' : 'accepted' });
    ctx.state.log = { event_id: result.event._id, deliveries: result.deliveriesTotal };
    ctx.status = result.duplicate ? 200 : 202;
    ctx.body = {
      ...presentEvent(result.event),
      is_duplicate: result.duplicate,
      deliveries: result.deliveries.map(presentDelivery),
      deliveries_total: result.deliveriesTotal,
      deliveries_url: `/v1/deliveries?event_id=${result.event._id}`,
    };
  });

  router.post('/v1/endpoints/:id/test', async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const body = parseBody(ctx, TestEventBody.default({}));
    const endpoint = await findInScope(ctx, Endpoint, id);
    if (!endpoint) throw notFound('endpoint');
    assertReplayable(endpoint);
    const eventType = body.event_type ?? sampleEventType(endpoint);
    // Sent to this endpoint alone: its event types matter, its channels do not.
    if (!subscribes({ event_types: endpoint.event_types }, { event_type: eventType })) {
      throw fieldError('body', ['event_type'], 'the endpoint does not subscribe to this event type');
    }
    const payload = {
      type: 'hookflow.test',
      message: 'A test event sent from hookflow',
      endpoint_id: endpoint._id,
      sent_at: new Date().toISOString(),
    };
    const result = await publishEvent(
      temporal,
      auth(ctx).projectId,
      { event_type: eventType, payload, endpoint_ids: [endpoint._id] },
      endpoint.consumer_id ?? null,
    );
    ctx.status = 202;
    ctx.body = {
      ...presentEvent(result.event),
      is_duplicate: false,
      deliveries: result.deliveries.map(presentDelivery),
      deliveries_total: result.deliveriesTotal,
      deliveries_url: `/v1/deliveries?event_id=${result.event._id}`,
    };
  });

  router.get('/v1/events', async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    const { projectId, consumerId } = auth(ctx);
    const addressedTo = q.consumer_id ? await consumerIdOf(ctx, q.consumer_id, 'query') : undefined;
    // A portal session sees the events delivered to its consumer too (unless it asks for those addressed to it).
    if (consumerId && !addressedTo) {
      const range = idTimeRange('evt', q.since, q.until);
      if (q.cursor && (!range.$lt || q.cursor < range.$lt)) range.$lt = q.cursor;
      const ids = await consumerEventIds(projectId, consumerId, range, q.event_type, q.limit);
      const events = (await Event.find({ _id: { $in: ids }, project_id: projectId })
        .sort({ _id: -1 })
        .lean()) as EventDoc[];
      ctx.body = pageAnswer(events, q.limit, presentEvent);
      return;
    }
    const filter = {
      $and: [
        {
          project_id: projectId,
          ...(q.event_type ? { event_type: q.event_type } : {}),
          ...(addressedTo ? { consumer_id: addressedTo } : {}),
        },
        createdBetween('evt', q.since, q.until),
      ],
    };
    ctx.body = await listPage(Event, filter, q, presentEvent);
  });

  router.get('/v1/events/:id', async (ctx) => {
    const { id } = parsePath(ctx, EventPath);
    const event = await findEventInScope(ctx, id);
    if (!event) throw notFound('event');
    ctx.body = presentEvent(event);
  });

  // Erasure: the payload goes first, so that no attempt reads it again; then the unfinished deliveries are
  // cancelled, so that none that read it before (a worker's cached copy) makes another attempt.
  router.delete('/v1/events/:id/payload', projectKeyOnly, async (ctx) => {
    const { id } = parsePath(ctx, EventPath);
    const { projectId } = auth(ctx);
    await Event.updateOne(
      { _id: id, project_id: projectId, payload_expunged_at: null },
      { $set: { payload_json: null, payload_expunged_at: new Date() } },
    );
    const event = await findOwned(Event, id, projectId);
    if (!event) throw notFound('event');
    const unfinished = (await Delivery.find({
      project_id: projectId,
      event_id: id,
      status: { $nin: FINAL_STATUSES },
    }).lean()) as DeliveryDoc[];
    let cancelled = 0;
    for (const delivery of unfinished) {
      // One that finished meanwhile is refused (409): it makes no attempt either.
      await signalDelivery(temporal, delivery, 'cancel').then(
        () => cancelled++,
        (err) => {
          if (err?.status !== 409) throw err;
        },
      );
    }
    ctx.body = { ...presentEvent(event), deliveries_cancelled: cancelled };
  });

  // Convoy's replay: the event afresh to every endpoint subscribed to it now (active ones; for an event
  // published with endpoint_ids, those of them that are active); for a portal session, its consumer's. More
  // than INLINE_RECIPIENTS go to a fan-out workflow, as a publish's do.
  router.post('/v1/events/:id/replay', async (ctx) => {
    const { id } = parsePath(ctx, EventPath);
    const { consumerId } = auth(ctx);
    const event = await findEventInScope(ctx, id);
    if (!event) throw notFound('event');
    await assertSendable(event);
    const endpoints = await subscribedEndpoints({ ...event, consumer_id: consumerId ?? event.consumer_id });
    const replayId = newId('rpl');
    let deliveries: DeliveryDoc[] = [];
    // Inline or in pages, the same deliveries: ids derived from (replay, endpoint).
    if (endpoints.length > INLINE_RECIPIENTS) await planFanOut(temporal, event, endpoints, replayId);
    else deliveries = await startDeliveries(temporal, await replayDeliveries(event, endpoints, replayId));
    ctx.status = 202;
    ctx.body = {
      event_id: event._id,
      replay_id: replayId,
      deliveries: deliveries.map(presentDelivery),
      deliveries_total: endpoints.length,
      // The replay's deliveries carry its time in their ids: listed from it on, with any made later.
      deliveries_url: `/v1/deliveries?event_id=${event._id}&since=${idTime(replayId).toISOString()}`,
    };
  });

  return router;
}

function parseHeaderKey(value: string): string {
  const parsed = idempotencyKey.safeParse(value);
  if (!parsed.success) return value.slice(0, 255);
  return parsed.data;
}

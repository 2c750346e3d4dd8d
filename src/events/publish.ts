// Publishing: store the event, fan it out to one delivery per subscribed endpoint, start every delivery
// workflow, and only then answer 202. A crash anywhere before that leaves the event undispatched; publishing
// it again with the same idempotency key finishes the job instead of starting anything twice.

import { isDuplicateKeyError } from '../db';
import { Delivery, type DeliveryDoc } from '../deliveries/model';
import { startDeliveries, type TemporalTarget } from '../deliveries/start';
import { Endpoint, type EndpointDoc } from '../endpoints/model';
import { activeEndpointsOf } from '../endpoints/recipients-cache';
import type { RoutingStamp } from '../endpoints/routing-stamp';
import { fieldError } from '../http/errors';
import { newId } from '../ids';
import { type Dispatched, INLINE_RECIPIENTS, initialDelivery, planFanOut } from './fan-out';
import { Event, type EventDoc, newEvent } from './model';
import { type FilterTarget, subscribes } from './routing';
import type { PublishEventBody } from './schemas';

export interface PublishResult {
  event: EventDoc;
  /** The deliveries started, or none for a large fan-out, whose `deliveriesTotal` a workflow starts. */
  deliveries: DeliveryDoc[];
  deliveriesTotal: number;
  duplicate: boolean;
}

/** Publishes `body` in `projectId`, to the consumer `consumerId` (already resolved from body.consumer_id) if set. */
export async function publishEvent(
  temporal: TemporalTarget,
  projectId: string,
  body: PublishEventBody,
  consumerId: string | null,
  { operational = false, stamp }: { operational?: boolean; stamp?: RoutingStamp } = {},
): Promise<PublishResult> {
  if (body.endpoint_ids) await assertEndpointsExist(projectId, body.endpoint_ids, consumerId);
  const eventId = newId('evt');
  const payloadJson = JSON.stringify(body.payload);
  // Who gets the event is read while the event is stored: a round trip less before the 202.
  const recipients = subscribedEndpoints(
    {
      project_id: projectId,
      consumer_id: consumerId,
      event_type: body.event_type,
      endpoint_ids: body.endpoint_ids ?? null,
      operational,
      channels: body.channels ?? [],
      payload_json: payloadJson,
      headers: body.headers ?? {},
    },
    stamp,
  );
  recipients.catch(() => {});
  const event = newEvent(
    {
      _id: eventId,
      project_id: projectId,
      consumer_id: consumerId,
      event_type: body.event_type,
      payload_json: payloadJson,
      idempotency_key: body.idempotency_key ?? null,
      dedupe_key: body.idempotency_key ?? eventId,
      headers: body.headers ?? {},
      endpoint_ids: body.endpoint_ids ?? null,
      ...(operational ? { operational } : {}),
      channels: body.channels ?? [],
      deliver_at: body.deliver_at ?? null,
    },
    new Date(),
  );
  try {
    await Event.collection.insertOne(event as never);
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const existing = await Event.findOne({ project_id: projectId, dedupe_key: body.idempotency_key }).lean();
    if (!existing) throw err;
    const { deliveries, total } = existing.dispatched_at
      ? {
          deliveries: await deliveriesById(existing.delivery_ids ?? []),
          total: existing.deliveries_total ?? existing.delivery_ids?.length ?? 0,
        }
      : await dispatch(temporal, existing);
    return { event: existing, deliveries, deliveriesTotal: total, duplicate: true };
  }
  const { deliveries, total } = await dispatch(temporal, event, await recipients);
  return { event, deliveries, deliveriesTotal: total, duplicate: false };
}

/** Every endpoint listed is the project's, and the consumer's when the event is for one. */
async function assertEndpointsExist(
  projectId: string,
  ids: string[],
  consumerId: string | null,
): Promise<void> {
  const found = new Map(
    (
      await Endpoint.find({ _id: { $in: ids }, project_id: projectId }, { _id: 1, consumer_id: 1 }).lean()
    ).map((e) => [e._id, e.consumer_id ?? null]),
  );
  const missing = ids.findIndex((id) => !found.has(id));
  if (missing >= 0) throw fieldError('body', ['endpoint_ids', missing], 'endpoint not found');
  const foreign = consumerId ? ids.findIndex((id) => found.get(id) !== consumerId) : -1;
  if (foreign >= 0) {
    throw fieldError('body', ['endpoint_ids', foreign], 'endpoint does not belong to the consumer');
  }
}

async function deliveriesById(ids: string[]): Promise<DeliveryDoc[]> {
  return (await Delivery.find({ _id: { $in: ids } })
    .sort({ _id: 1 })
    .lean()) as DeliveryDoc[];
}

/**
 * Who gets an event: the active endpoints (operational ones for hookflow's own events) of its project (of its consumer, for an event published to one)
 * subscribed to its type, or, for an event published with `endpoint_ids`, those of them that are active.
 * Used by publish and by event replay.
 */
export async function subscribedEndpoints(
  event: Pick<
    EventDoc,
    | 'project_id'
    | 'consumer_id'
    | 'event_type'
    | 'endpoint_ids'
    | 'operational'
    | 'channels'
    | 'payload_json'
    | 'headers'
  >,
  /** The project's routing stamp, if the caller has read it already. */
  stamp?: RoutingStamp,
): Promise<EndpointDoc[]> {
  // hookflow's own events go to operational endpoints, and only they.
  const operational = (ep: EndpointDoc) => (ep.operational === true) === (event.operational === true);
  const candidates =
    event.consumer_id || event.endpoint_ids
      ? ((await Endpoint.collection
          .find({
            project_id: event.project_id,
            operational: event.operational ? true : { $ne: true },
            ...(event.consumer_id ? { consumer_id: event.consumer_id } : {}),
            status: 'active',
            ...(event.endpoint_ids ? { _id: { $in: event.endpoint_ids } } : {}),
          } as never)
          .toArray()) as unknown as EndpointDoc[])
      : (await activeEndpointsOf(event.project_id, stamp)).filter(operational);
  let target: ReturnType<FilterTarget> | undefined;
  const filterTarget: FilterTarget = () => {
    target ??= {
      event_type: event.event_type,
      payload: JSON.parse(event.payload_json ?? 'null'),
      headers: event.headers,
    };
    return target;
  };
  return candidates.filter((ep) => event.endpoint_ids || subscribes(ep, event, filterTarget));
}

/**
 * Starts the event's deliveries (up to INLINE_RECIPIENTS here, more through a fan-out workflow) and, for an
 * event that can be repeated (an idempotency key), marks it dispatched with what the repeat answers.
 */
async function dispatch(
  temporal: TemporalTarget,
  event: EventDoc,
  recipients?: EndpointDoc[],
): Promise<Dispatched> {
  const all = recipients ?? (await subscribedEndpoints(event));
  let dispatched: Dispatched;
  if (all.length > INLINE_RECIPIENTS) {
    await planFanOut(temporal, event, all);
    dispatched = { deliveries: [], total: all.length };
  } else {
    // Ids derived from (event, endpoint): a repeated dispatch finds the deliveries the first one stored.
    const deliveries = await startDeliveries(
      temporal,
      all.map((endpoint) => initialDelivery(event, endpoint)),
    );
    dispatched = { deliveries, total: deliveries.length };
  }
  // Only a repeat with the same idempotency key reads the mark; an event without one cannot be repeated.
  if (event.idempotency_key === null) return dispatched;
  const at = new Date();
  await Event.collection.updateOne(
    { _id: event._id as never },
    {
      $set: {
        dispatched_at: at,
        delivery_ids: dispatched.deliveries.map((d) => d._id),
        deliveries_total: dispatched.total,
        updated_at: at,
      },
    },
  );
  return dispatched;
}

// What a caller may reach: a project API key reaches the whole project, a portal session its consumer's
// endpoints and deliveries, and the events delivered to them. Another consumer's objects are not found.
import type { Context } from 'koa';
import type { Model } from 'mongoose';
import { findOwned } from '../db';
import { Delivery } from '../deliveries/model';
import { Event, type EventDoc } from '../events/model';
import { auth } from '../http/auth';
import { fieldError, notFound } from '../http/errors';
import { idTime, idTimeRange } from '../ids';
import { findConsumer } from './model';

/** What a query must add to stay within the caller's consumer, if the caller is a portal session. */
export function consumerScope(ctx: Context): { consumer_id?: string } {
  const { consumerId } = auth(ctx);
  return consumerId ? { consumer_id: consumerId } : {};
}

/** Object `id` of the caller's project, and of its consumer for a portal session; else null. */
export async function findInScope<D extends { project_id: string; consumer_id?: string | null }>(
  ctx: Context,
  model: Model<D>,
  id: string,
): Promise<D | null> {
  const { projectId, consumerId } = auth(ctx);
  const doc = await findOwned(model, id, projectId);
  return doc && (consumerId === null || doc.consumer_id === consumerId) ? doc : null;
}

/** An event the caller may see: a portal session sees those published to its consumer or delivered to it. */
export async function findEventInScope(ctx: Context, id: string): Promise<EventDoc | null> {
  const { projectId, consumerId } = auth(ctx);
  const event = await findOwned(Event, id, projectId);
  if (!event) return null;
  if (!consumerId || event.consumer_id === consumerId) return event;
  const delivered = await Delivery.exists({ project_id: projectId, event_id: id, consumer_id: consumerId });
  return delivered ? event : null;
}

/** Deliveries read per step of the walk below. */
const WALK_BATCH = 500;
/** How far a delivery's id time may run behind its event's: a replay or resend made by another clock. */
const CLOCK_MARGIN_MS = 5_000;

/**
 * The ids of a page of the events consumer `consumerId` may see (published to it, or delivered to one of its
 * endpoints), newest first, within `range` (an `_id` range on events, cursor included) and of `eventType`:
 * `limit + 1` at most, the last telling only whether there is a next page. The delivered ones come from a
 * walk through the consumer's deliveries, newest first (an index ending in `_id`): a delivery's id time is
 * never before its event's (publishes derive it from the event's, replays and resends are later), so once the
 * walk has passed a time, every event newer than that which reached the consumer has been seen. A page costs
 * the consumer's deliveries made since its oldest event, not all of them.
 */
export async function consumerEventIds(
  projectId: string,
  consumerId: string,
  range: { $lt?: string; $gte?: string },
  eventType: string | undefined,
  limit: number,
): Promise<string[]> {
  const want = limit + 1;
  const inRange = (id: string) => (!range.$lt || id < range.$lt) && (!range.$gte || id >= range.$gte);
  const typeFilter = eventType ? { event_type: eventType } : {};
  // Published to the consumer: the newest `want` of them are all that can make the page.
  const addressed = await Event.collection
    .find({ project_id: projectId, consumer_id: consumerId, _id: range, ...typeFilter } as never, {
      projection: { _id: 1 },
    })
    .sort({ _id: -1 })
    .limit(want)
    .toArray();
  const candidates = new Set(addressed.map((e) => String(e._id)));
  /** Of the candidates reached through deliveries, whether their type is the one asked for. */
  const ofType = new Map<string, boolean>(addressed.map((e) => [String(e._id), true]));
  let after: string | null = null;
  for (;;) {
    const batch = (await Delivery.collection
      .find(
        {
          project_id: projectId,
          consumer_id: consumerId,
          ...(after ? { _id: { $lt: after } } : {}),
        } as never,
        { projection: { event_id: 1 } },
      )
      .sort({ _id: -1 })
      .limit(WALK_BATCH)
      .toArray()) as unknown as { _id: string; event_id: string }[];
    for (const d of batch) if (inRange(d.event_id)) candidates.add(d.event_id);
    const exhausted = batch.length < WALK_BATCH;
    after = exhausted ? null : batch[batch.length - 1]._id;
    // Every event at least this new that reached the consumer is a candidate by now.
    const seenFrom = after
      ? (idTimeRange('evt', new Date(idTime(after).getTime() + CLOCK_MARGIN_MS), undefined).$gte as string)
      : '';
    let ready = [...candidates].filter((id) => id >= seenFrom).sort((a, b) => (a < b ? 1 : -1));
    if (eventType) {
      const unknown = ready.filter((id) => !ofType.has(id));
      if (unknown.length > 0) {
        const found = await Event.collection
          .find({ _id: { $in: unknown }, project_id: projectId } as never, { projection: { event_type: 1 } })
          .toArray();
        const types = new Map(found.map((e) => [String(e._id), e.event_type]));
        for (const id of unknown) ofType.set(id, types.get(id) === eventType);
      }
      ready = ready.filter((id) => ofType.get(id));
    }
    // Done: enough events known complete, no deliveries left, or the walk is past the oldest event asked for.
    if (ready.length >= want || !after || (range.$gte && seenFrom < range.$gte)) return ready.slice(0, want);
  }
}

/**
 * The id of the consumer a request names, by id or uid: unknown (or, for a portal session, another consumer)
 * in a body field is a 422 on that field, in a query filter a 404.
 */
export async function consumerIdOf(
  ctx: Context,
  ref: string,
  where: { body: (string | number)[] } | 'query',
): Promise<string> {
  const { projectId, consumerId } = auth(ctx);
  const consumer = await findConsumer(projectId, ref);
  if (consumer && (consumerId === null || consumer._id === consumerId)) return consumer._id;
  if (where === 'query') throw notFound('consumer');
  throw fieldError('body', where.body, 'consumer not found');
}

// What a caller may reach: a project API key reaches the whole project, a portal session its consumer's
// endpoints and deliveries, and the events delivered to them. Another consumer's objects are not found.
import type { Context } from 'koa';
import type { Model } from 'mongoose';
import { findOwned } from '../db';
import { Delivery } from '../deliveries/model';
import { Event, type EventDoc } from '../events/model';
import { auth } from '../http/auth';
import { fieldError, notFound } from '../http/errors';
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

/** For a portal session, the ids of the events it may see, as a filter; nothing for a project key. */
export async function eventScope(ctx: Context): Promise<{ _id?: { $in: string[] } }> {
  const { projectId, consumerId } = auth(ctx);
  if (!consumerId) return {};
  const ids = await Delivery.distinct('event_id', { project_id: projectId, consumer_id: consumerId });
  return { _id: { $in: ids as string[] } };
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

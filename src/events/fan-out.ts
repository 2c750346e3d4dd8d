// Large fan-outs: a publish (or an event replay) to more than INLINE_RECIPIENTS endpoints stores its recipients
// in pages and hands them to a fan-out workflow (`fanout-<event id>`, `fanout-<replay id>`) before it answers,
// instead of starting every delivery first. The answer then comes in the same time whatever the number of
// recipients; the workflow starts each page's deliveries with ids derived from (event or replay, endpoint), so
// a page started twice starts nothing twice.
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { model, Schema } from 'mongoose';
import { isDuplicateKeyError } from '../db';
import type { DeliveryDoc } from '../deliveries/model';
import { latestDeliveryByEndpoint, replayDelivery } from '../deliveries/replay';
import { startDeliveries, type TemporalTarget } from '../deliveries/start';
import { deliveryWorkflowId } from '../delivery-contract';
import { Endpoint, type EndpointDoc } from '../endpoints/model';
import { derivedIds } from '../ids';
import type { FanOutInput, FanOutPageRef } from './fan-out-contract';
import { Event, type EventDoc } from './model';

/** Recipients a publish starts itself, before it answers; more go to a fan-out workflow. */
export const INLINE_RECIPIENTS = 50;
/** Endpoints per fan-out page (one activity each). */
export const FANOUT_PAGE_SIZE = 100;

/** `key`: the event's id for a publish, the replay's for an event replay. */
export function fanOutWorkflowId(key: string): string {
  return `fanout-${key}`;
}

interface FanOutPageDoc {
  _id: string;
  event_id: string;
  endpoint_ids: string[];
}

const fanOutPageSchema = new Schema<FanOutPageDoc>(
  { _id: String, event_id: String, endpoint_ids: [String] },
  { versionKey: false },
);
// Retention deletes an event's pages with it (src/retention).
fanOutPageSchema.index({ event_id: 1 });
export const FanOutPage = model<FanOutPageDoc>('FanOutPage', fanOutPageSchema, 'fanout_pages');

/** The new delivery of `event` to `endpoint`, with the id a repeated dispatch derives again. */
export function initialDelivery(event: EventDoc, endpoint: EndpointDoc) {
  const id = derivedIds.initialDelivery(event._id, endpoint._id);
  return {
    view: {
      _id: id,
      project_id: event.project_id,
      consumer_id: endpoint.consumer_id ?? null,
      endpoint_id: endpoint._id,
      event_id: event._id,
      event_type: event.event_type,
      url: endpoint.url,
      trigger: 'initial' as const,
      replay_of_delivery_id: null,
      workflow_id: deliveryWorkflowId(id),
      deliver_at: event.deliver_at ?? null,
    },
    endpoint,
  };
}

/**
 * Stores the recipients in pages and starts the fan-out workflow; both repeat harmlessly. `replayId` makes
 * it an event replay's (its deliveries' trigger `replay`, each descending from the endpoint's latest).
 */
export async function planFanOut(
  temporal: TemporalTarget,
  event: EventDoc,
  recipients: EndpointDoc[],
  replayId?: string,
): Promise<void> {
  const key = replayId ?? event._id;
  const pages = Math.ceil(recipients.length / FANOUT_PAGE_SIZE);
  const docs = Array.from({ length: pages }, (_, n) => ({
    _id: `${key}:${n}`,
    event_id: event._id,
    endpoint_ids: recipients.slice(n * FANOUT_PAGE_SIZE, (n + 1) * FANOUT_PAGE_SIZE).map((e) => e._id),
  }));
  try {
    await FanOutPage.collection.insertMany(docs as never[], { ordered: false });
  } catch (err) {
    // A repeated publish keeps the pages the first one stored.
    if (!isDuplicateKeyError(err)) throw err;
  }
  await startFanOut(temporal.client, temporal.taskQueue, {
    eventId: event._id,
    pages,
    page: 0,
    ...(replayId ? { replayId } : {}),
  });
}

async function startFanOut(client: Client, taskQueue: string, input: FanOutInput): Promise<void> {
  try {
    await client.workflow.start('fanOutWorkflow', {
      taskQueue,
      workflowId: fanOutWorkflowId(input.replayId ?? input.eventId),
      args: [input],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** One page of a fan-out: its recipients still active get their deliveries, started. */
export async function startFanOutPage(
  temporal: TemporalTarget,
  { eventId, page, replayId }: FanOutPageRef,
): Promise<number> {
  const [stored, event] = await Promise.all([
    FanOutPage.collection.findOne({ _id: `${replayId ?? eventId}:${page}` } as never),
    Event.collection.findOne({ _id: eventId } as never) as Promise<EventDoc | null>,
  ]);
  if (!stored || !event) return 0;
  const endpoints = (await Endpoint.collection
    .find({ _id: { $in: stored.endpoint_ids }, project_id: event.project_id, status: 'active' } as never)
    .toArray()) as unknown as EndpointDoc[];
  const deliveries = replayId
    ? await replayDeliveries(event, endpoints, replayId)
    : endpoints.map((endpoint) => initialDelivery(event, endpoint));
  const started = await startDeliveries(temporal, deliveries);
  return started.length;
}

/** An event replay's deliveries to `endpoints`, each descending from that endpoint's latest before it. */
export async function replayDeliveries(event: EventDoc, endpoints: EndpointDoc[], replayId: string) {
  const previous = await latestDeliveryByEndpoint(event.project_id, event._id, {
    endpointIds: endpoints.map((e) => e._id),
    before: replayId,
  });
  return endpoints.map((endpoint) =>
    replayDelivery({
      event,
      endpoint,
      trigger: 'replay',
      replayOf: previous.get(endpoint._id)?._id ?? null,
      id: derivedIds.eventReplayDelivery(replayId, endpoint._id),
    }),
  );
}

/** What a publish's answer says of its deliveries, for a large fan-out: how many, not which. */
export type Dispatched = { deliveries: DeliveryDoc[]; total: number };

// Replays, resends and recoveries all create NEW deliveries of a stored event (never rewriting old ones),
// with their lineage in replay_of_delivery_id and the receiver-facing `hookflow-replay-of` header.
import type { DeliveryTrigger } from '../delivery-contract';
import { deliveryWorkflowId } from '../delivery-contract';
import type { EndpointDoc } from '../endpoints/model';
import type { EventDoc } from '../events/model';
import { conflict } from '../http/errors';
import { idTime, idTimeRange, newId } from '../ids';
import { deliveriesCutoff, retentionDaysOf } from '../retention/window';
import { Delivery, type DeliveryDoc } from './model';
import { type NewDeliveryOf, startDeliveries, type TemporalTarget } from './start';

export interface ReplayRequest {
  event: Pick<EventDoc, '_id' | 'project_id' | 'event_type'>;
  endpoint: Pick<EndpointDoc, '_id' | 'consumer_id' | 'url' | 'status' | 'retry' | 'timeout_ms'>;
  trigger: Exclude<DeliveryTrigger, 'initial'>;
  replayOf: string | null;
  /** A derived id makes the creation idempotent (a bulk operation derives it from itself and the original). */
  id?: string;
}

/** Replays go only to active endpoints: a paused or disabled one must be resumed first. */
export function assertReplayable(endpoint: Pick<EndpointDoc, '_id' | 'status'>): void {
  if (endpoint.status !== 'active') {
    throw conflict(
      `endpoint ${endpoint._id} is ${endpoint.status}; set its status to active before replaying to it`,
    );
  }
}

/**
 * Replays and resends send the stored payload: an expunged one leaves nothing to send, and an event older than
 * its project's retention is about to be deleted (src/retention/window.ts).
 */
export async function assertSendable(
  event: Pick<EventDoc, '_id' | 'project_id' | 'payload_json' | 'payload_expunged_at'>,
): Promise<void> {
  if (event.payload_json === null) {
    const when = event.payload_expunged_at ? ` on ${event.payload_expunged_at.toISOString()}` : '';
    throw conflict(`the payload of event ${event._id} was expunged${when}: there is nothing to send`);
  }
  const days = await retentionDaysOf(event.project_id);
  if (idTime(event._id) < deliveriesCutoff(days))
    throw conflict(
      `event ${event._id} is older than the project's retention (${days} days) and is being deleted: there is nothing to send`,
    );
}

/** The new delivery a replay, resend or recovery makes: its view and the endpoint settings it starts with. */
export function replayDelivery(req: ReplayRequest): NewDeliveryOf {
  const id = req.id ?? newId('dlv');
  return {
    view: {
      _id: id,
      project_id: req.event.project_id,
      consumer_id: req.endpoint.consumer_id ?? null,
      endpoint_id: req.endpoint._id,
      event_id: req.event._id,
      event_type: req.event.event_type,
      url: req.endpoint.url,
      trigger: req.trigger,
      replay_of_delivery_id: req.replayOf,
      workflow_id: deliveryWorkflowId(id),
    },
    endpoint: req.endpoint,
  };
}

/** Stores the new delivery and starts its workflow; 202 may be answered once this returns. */
export async function createReplayDelivery(
  temporal: TemporalTarget,
  req: ReplayRequest,
): Promise<DeliveryDoc> {
  const [delivery] = await startDeliveries(temporal, [replayDelivery(req)]);
  if (!delivery) throw new Error('replay delivery was not stored');
  return delivery;
}

/**
 * The latest delivery of `eventId` to each endpoint (of `endpointIds`, when given), made before the time of
 * `before` (an id): the one a resend or an event replay descends from. A large replay's page asks with its
 * replay's id, so a page run again finds the same predecessors, not the deliveries its first run made.
 */
export async function latestDeliveryByEndpoint(
  projectId: string,
  eventId: string,
  scope: { endpointIds?: string[]; before?: string } = {},
): Promise<Map<string, DeliveryDoc>> {
  const deliveries = await Delivery.find({
    project_id: projectId,
    event_id: eventId,
    ...(scope.endpointIds ? { endpoint_id: { $in: scope.endpointIds } } : {}),
    ...(scope.before ? { _id: idTimeRange('dlv', undefined, idTime(scope.before)) } : {}),
  })
    .sort({ _id: 1 })
    .lean();
  return new Map(deliveries.map((d) => [d.endpoint_id, d as DeliveryDoc]));
}

// hookflow's own events about a project, sent to its operational endpoints (/v1/operational-endpoints) by the
// same delivery workflows as any event: signed, retried, visible as deliveries. Deliveries to operational
// endpoints never cause operational events themselves (no breaker, no delivery.exhausted), so nothing loops.
import type { TemporalTarget } from '../deliveries/start';
import { Endpoint } from '../endpoints/model';
import { publishEvent } from '../events/publish';

export const OPERATIONAL_EVENT_TYPES = [
  'endpoint.disabled',
  'endpoint.circuit_opened',
  'endpoint.circuit_closed',
  'delivery.exhausted',
  'operation.completed',
] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

/** What each operational event's `data` holds (the README shows a JSON example of each). */
export interface OperationalData {
  'endpoint.disabled': {
    endpoint_id: string;
    consumer_id: string | null;
    reason: string;
    trigger: 'circuit_breaker' | 'gone';
  };
  'endpoint.circuit_opened': { endpoint_id: string; consumer_id: string | null; opened_at: string };
  'endpoint.circuit_closed': {
    endpoint_id: string;
    consumer_id: string | null;
    opened_at: string | null;
    closed_by: 'probe' | 'resume';
  };
  'delivery.exhausted': {
    delivery_id: string;
    endpoint_id: string;
    consumer_id: string | null;
    event_id: string;
    event_type: string;
    last_error: string | null;
  };
  'operation.completed': {
    operation_id: string;
    kind: 'replay' | 'recover';
    status: 'completed' | 'cancelled';
    total: number;
    replayed: number;
    skipped: number;
    failed: number;
  };
}

/**
 * Publishes an operational event to the project's subscribed operational endpoints. `key` names the
 * occurrence: a repeated call (an activity retried) publishes nothing twice.
 */
export async function emitOperationalEvent<T extends OperationalEventType>(
  temporal: TemporalTarget,
  projectId: string,
  type: T,
  data: OperationalData[T],
  key: string,
): Promise<void> {
  // Nothing is stored for a project without operational endpoints.
  const anyone = await Endpoint.collection.findOne(
    { project_id: projectId, operational: true, status: 'active' } as never,
    { projection: { _id: 1 } },
  );
  if (!anyone) return;
  await publishEvent(
    temporal,
    projectId,
    {
      event_type: type,
      payload: { type, created_at: new Date().toISOString(), data },
      idempotency_key: `hookflow:${type}:${key}`,
    },
    null,
    { operational: true },
  );
}

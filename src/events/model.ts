import { model, Schema } from 'mongoose';
import { z } from 'zod';

export interface EventDoc {
  _id: string;
  project_id: string;
  /** The consumer the event was published to, or null for every subscribed endpoint of the project. */
  consumer_id: string | null;
  event_type: string;
  /** The payload exactly as it is sent: the same bytes on every attempt, replay and resend; null once expunged. */
  payload_json: string | null;
  /** When `DELETE /v1/events/{id}/payload` removed the payload. */
  payload_expunged_at?: Date | null;
  idempotency_key: string | null;
  /** idempotency_key, or the event id when there is none: unique per project. */
  dedupe_key: string;
  headers: Record<string, string>;
  /** Explicit endpoint list given at publish time, or null for every subscribed endpoint. */
  endpoint_ids: string[] | null;
  /** One of hookflow's own events, for the project's operational endpoints only. */
  operational?: boolean;
  /** The channels it was published on (endpoints with channels get it only on one of theirs). */
  channels?: string[];
  /** When its deliveries are due, if it was published with deliver_at. */
  deliver_at?: Date | null;
  /** Set once every delivery workflow of the event has been started. */
  dispatched_at: Date | null;
  /** The initial deliveries, recorded at dispatch (none for a large fan-out). */
  delivery_ids: string[];
  /** How many initial deliveries dispatch started or handed to a fan-out workflow. */
  deliveries_total?: number;
  created_at: Date;
  updated_at: Date;
}

const schema = new Schema<EventDoc>(
  {
    _id: { type: String, required: true },
    project_id: { type: String, required: true },
    consumer_id: { type: String, default: null },
    event_type: { type: String, required: true },
    payload_json: { type: String, default: null },
    payload_expunged_at: { type: Date, default: null },
    idempotency_key: { type: String, default: null },
    dedupe_key: { type: String, required: true },
    headers: { type: Schema.Types.Mixed, default: {} },
    endpoint_ids: { type: [String], default: null },
    operational: { type: Boolean, default: false },
    channels: { type: [String], default: [] },
    deliver_at: { type: Date, default: null },
    dispatched_at: { type: Date, default: null },
    delivery_ids: { type: [String], default: [] },
    deliveries_total: { type: Number, default: null },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false, minimize: false },
);
schema.index({ project_id: 1, dedupe_key: 1 }, { unique: true });
schema.index({ project_id: 1, _id: 1 });
schema.index({ project_id: 1, event_type: 1, _id: 1 });
schema.index({ project_id: 1, consumer_id: 1, _id: 1 });

export const Event = model<EventDoc>('Event', schema, 'events');

/**
 * The whole document of a new event, as the schema would make it: events are inserted through the driver,
 * which skips mongoose's document construction (most of the API's MongoDB client CPU per publish); the
 * body was validated at the edge.
 */
export function newEvent(
  fields: Omit<EventDoc, 'dispatched_at' | 'delivery_ids' | 'created_at' | 'updated_at'>,
  at: Date,
): EventDoc {
  return { ...fields, dispatched_at: null, delivery_ids: [], created_at: at, updated_at: at };
}

export const EventResource = z
  .strictObject({
    id: z.string().meta({ description: 'Also the `webhook-id` header of every request carrying it.' }),
    project_id: z.string(),
    consumer_id: z.string().nullable(),
    event_type: z.string(),
    payload: z.unknown().meta({ description: 'The JSON payload, sent as is; null once expunged.' }),
    payload_expunged_at: z
      .date()
      .nullable()
      .meta({ description: 'When the payload was expunged (DELETE /v1/events/{id}/payload); null: kept.' }),
    idempotency_key: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    endpoint_ids: z.array(z.string()).nullable(),
    channels: z.array(z.string()),
    deliver_at: z.date().nullable().meta({ description: 'When its deliveries are due, if scheduled.' }),
    created_at: z.date(),
  })
  .meta({ id: 'Event' });

export function presentEvent(e: EventDoc): z.output<typeof EventResource> {
  return {
    id: e._id,
    project_id: e.project_id,
    consumer_id: e.consumer_id ?? null,
    event_type: e.event_type,
    payload: e.payload_json === null ? null : (JSON.parse(e.payload_json) as unknown),
    payload_expunged_at: e.payload_expunged_at ?? null,
    idempotency_key: e.idempotency_key,
    headers: e.headers,
    endpoint_ids: e.endpoint_ids,
    channels: e.channels ?? [],
    deliver_at: e.deliver_at ?? null,
    created_at: e.created_at,
  };
}

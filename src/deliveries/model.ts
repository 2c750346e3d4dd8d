import { model, Schema } from 'mongoose';
import { z } from 'zod';
import { DELIVERY_TRIGGERS, type DeliveryTrigger } from '../delivery-contract';
import { DELIVERY_STATUSES, type DeliveryStatus } from './status';

/** The denormalized view of one delivery that the API reads; the workflow is the source of truth. */
export interface DeliveryDoc {
  _id: string;
  project_id: string;
  /** The endpoint's consumer when the delivery was made, or null. */
  consumer_id: string | null;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  last_response: string | null;
  last_duration_ms: number | null;
  replay_of_delivery_id: string | null;
  trigger: DeliveryTrigger;
  workflow_id: string;
  /** Key of the attempt that last bumped `attempts`: makes the bump idempotent. */
  last_attempt_key: string | null;
  /** Workflow run that wrote last; a reset starts a new run that may overwrite a cancelled view. */
  run_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/** What a delivery view holds before its first attempt: the schema's defaults, and the inserts' fields. */
const BEFORE_FIRST_ATTEMPT = {
  status: 'pending',
  attempts: 0,
  next_attempt_at: null,
  last_attempt_at: null,
  delivered_at: null,
  last_status_code: null,
  last_error: null,
  last_response: null,
  last_duration_ms: null,
  last_attempt_key: null,
  run_id: null,
} as const satisfies Partial<DeliveryDoc>;

const schema = new Schema<DeliveryDoc>(
  {
    _id: { type: String, required: true },
    project_id: { type: String, required: true },
    consumer_id: { type: String, default: null },
    endpoint_id: { type: String, required: true },
    event_id: { type: String, required: true },
    event_type: { type: String, required: true },
    url: { type: String, required: true },
    status: { type: String, enum: DELIVERY_STATUSES, default: BEFORE_FIRST_ATTEMPT.status },
    attempts: { type: Number, default: BEFORE_FIRST_ATTEMPT.attempts },
    next_attempt_at: { type: Date, default: null },
    last_attempt_at: { type: Date, default: null },
    delivered_at: { type: Date, default: null },
    last_status_code: { type: Number, default: null },
    last_error: { type: String, default: null },
    last_response: { type: String, default: null },
    last_duration_ms: { type: Number, default: null },
    replay_of_delivery_id: { type: String, default: null },
    trigger: { type: String, enum: DELIVERY_TRIGGERS, default: 'initial' },
    workflow_id: { type: String, required: true },
    last_attempt_key: { type: String, default: null },
    run_id: { type: String, default: null },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);
// Lists go newest first by `_id` within a project, filtered by one of these fields at most (the rest is
// checked row by row): each index ends in `_id`, so a page is read in order and reading stops after it.
schema.index({ project_id: 1, _id: 1 });
for (const field of ['status', 'endpoint_id', 'consumer_id', 'event_id', 'event_type']) {
  schema.index({ project_id: 1, [field]: 1, _id: 1 });
}

export const Delivery = model<DeliveryDoc>('Delivery', schema, 'deliveries');

export type NewDelivery = ScheduledFor &
  Pick<
    DeliveryDoc,
    | '_id'
    | 'project_id'
    | 'consumer_id'
    | 'endpoint_id'
    | 'event_id'
    | 'event_type'
    | 'url'
    | 'trigger'
    | 'workflow_id'
    | 'replay_of_delivery_id'
  >;

/** When a delivery published with `deliver_at` is due (not stored on the view: its next_attempt_at says it). */
interface ScheduledFor {
  deliver_at?: Date | null;
}

/**
 * The whole document of a new view, as the schema would make it: views are inserted through the driver,
 * which skips mongoose's document construction and validation (their inputs are validated at the edge).
 */
export function newDeliveryView(view: NewDelivery, at: Date): DeliveryDoc {
  const { deliver_at, ...fields } = view;
  const waits =
    deliver_at && deliver_at > at ? { status: 'scheduled' as const, next_attempt_at: deliver_at } : {};
  return { ...fields, ...BEFORE_FIRST_ATTEMPT, ...waits, created_at: at, updated_at: at };
}

/** One HTTP attempt of a delivery, kept as its own document. */
export interface AttemptDoc {
  _id: string;
  delivery_id: string;
  project_id: string;
  endpoint_id: string;
  event_id: string;
  attempt: number;
  url: string;
  status: 'succeeded' | 'failed';
  outcome: string;
  status_code: number | null;
  error: string | null;
  response: string | null;
  duration_ms: number;
  started_at: Date;
  created_at: Date;
}

const attemptSchema = new Schema<AttemptDoc>(
  {
    _id: { type: String, required: true },
    delivery_id: { type: String, required: true },
    project_id: { type: String, required: true },
    endpoint_id: { type: String, required: true },
    event_id: { type: String, required: true },
    attempt: { type: Number, required: true },
    url: { type: String, required: true },
    status: { type: String, required: true },
    outcome: { type: String, required: true },
    status_code: { type: Number, default: null },
    error: { type: String, default: null },
    response: { type: String, default: null },
    duration_ms: { type: Number, required: true },
    started_at: { type: Date, required: true },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: false }, versionKey: false },
);
attemptSchema.index({ delivery_id: 1, attempt: 1 }, { unique: true });

export const DeliveryAttempt = model<AttemptDoc>('DeliveryAttempt', attemptSchema, 'delivery_attempts');

export const DeliveryResource = z
  .strictObject({
    id: z.string(),
    project_id: z.string(),
    consumer_id: z.string().nullable(),
    endpoint_id: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    url: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number(),
    next_attempt_at: z.date().nullable(),
    last_attempt_at: z.date().nullable(),
    delivered_at: z.date().nullable(),
    last_status_code: z.number().nullable(),
    last_error: z.string().nullable(),
    last_response: z.string().nullable().meta({ description: 'The first 4 KiB of the last answer.' }),
    last_duration_ms: z.number().nullable(),
    replay_of_delivery_id: z.string().nullable(),
    trigger: z.enum(DELIVERY_TRIGGERS),
    workflow_id: z.string().meta({ description: 'The Temporal workflow running this delivery.' }),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Delivery' });

export const AttemptResource = z
  .strictObject({
    id: z.string(),
    delivery_id: z.string(),
    endpoint_id: z.string(),
    event_id: z.string(),
    attempt: z.number(),
    url: z.string(),
    status: z.enum(['succeeded', 'failed']),
    outcome: z.string().meta({ description: '2xx, 3xx, 4xx, 5xx, timeout, network, blocked or lost.' }),
    status_code: z.number().nullable(),
    error: z.string().nullable(),
    response: z.string().nullable(),
    duration_ms: z.number(),
    started_at: z.date(),
    created_at: z.date(),
  })
  .meta({ id: 'Attempt' });

export function presentDelivery(d: DeliveryDoc): z.output<typeof DeliveryResource> {
  // Views upserted at publish time hold only the fields set then: absent means null.
  return {
    id: d._id,
    project_id: d.project_id,
    consumer_id: d.consumer_id ?? null,
    endpoint_id: d.endpoint_id,
    event_id: d.event_id,
    event_type: d.event_type,
    url: d.url,
    status: d.status,
    attempts: d.attempts ?? 0,
    next_attempt_at: d.next_attempt_at ?? null,
    last_attempt_at: d.last_attempt_at ?? null,
    delivered_at: d.delivered_at ?? null,
    last_status_code: d.last_status_code ?? null,
    last_error: d.last_error ?? null,
    last_response: d.last_response ?? null,
    last_duration_ms: d.last_duration_ms ?? null,
    replay_of_delivery_id: d.replay_of_delivery_id ?? null,
    trigger: d.trigger,
    workflow_id: d.workflow_id,
    created_at: d.created_at,
    updated_at: d.updated_at,
  };
}

export function presentAttempt(a: AttemptDoc): z.output<typeof AttemptResource> {
  return {
    id: a._id,
    delivery_id: a.delivery_id,
    endpoint_id: a.endpoint_id,
    event_id: a.event_id,
    attempt: a.attempt,
    url: a.url,
    status: a.status,
    outcome: a.outcome,
    status_code: a.status_code,
    error: a.error,
    response: a.response,
    duration_ms: a.duration_ms,
    started_at: a.started_at,
    created_at: a.created_at,
  };
}

import { model, Schema } from 'mongoose';
import { z } from 'zod';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../deliveries/status';

export const OPERATION_STATUSES = ['running', 'completed', 'cancelled', 'failed'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** Which deliveries a bulk replay takes; `before_id` bounds it to deliveries older than the operation. */
export interface ReplayFilter {
  /** Stored as the consumer's id, whichever way the request named it. */
  consumer_id?: string;
  endpoint_id?: string;
  event_type?: string;
  status?: DeliveryStatus;
  since?: string;
  until?: string;
}

/** A bulk replay (`replay`) or an endpoint recovery (`recover`), run by its own workflow. */
export interface OperationDoc {
  _id: string;
  project_id: string;
  kind: 'replay' | 'recover';
  /** Set when every delivery it may replay is one consumer's: that consumer's portal sessions see it. */
  consumer_id?: string | null;
  filter: ReplayFilter;
  before_id: string;
  page_size: number;
  status: OperationStatus;
  total: number;
  done: number;
  replayed: number;
  skipped: number;
  failed: number;
  workflow_id: string;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const schema = new Schema<OperationDoc>(
  {
    _id: { type: String, required: true },
    project_id: { type: String, required: true },
    kind: { type: String, enum: ['replay', 'recover'], required: true },
    consumer_id: { type: String, default: null },
    filter: { type: Schema.Types.Mixed, default: {} },
    before_id: { type: String, required: true },
    page_size: { type: Number, required: true },
    status: { type: String, enum: OPERATION_STATUSES, default: 'running' },
    total: { type: Number, default: 0 },
    done: { type: Number, default: 0 },
    replayed: { type: Number, default: 0 },
    skipped: { type: Number, default: 0 },
    failed: { type: Number, default: 0 },
    workflow_id: { type: String, required: true },
    completed_at: { type: Date, default: null },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false, minimize: false },
);
schema.index({ project_id: 1, _id: 1 });

export const Operation = model<OperationDoc>('Operation', schema, 'operations');

/**
 * One page of an operation: the ids of the deliveries it replays, fixed when the operation starts. Pages are
 * read by `_id` (`<operation>:<n>`), so replaying page n never queries the deliveries collection again.
 */
export interface OperationPageDoc {
  _id: string;
  delivery_ids: string[];
}

export const OperationPage = model<OperationPageDoc>(
  'OperationPage',
  new Schema<OperationPageDoc>(
    { _id: { type: String, required: true }, delivery_ids: [String] },
    { versionKey: false },
  ),
  'operation_pages',
);

export function operationPageId(operationId: string, page: number): string {
  return `${operationId}:${page}`;
}

export function operationWorkflowId(operationId: string): string {
  return `operation-${operationId}`;
}

export const OperationResource = z
  .strictObject({
    id: z.string(),
    project_id: z.string(),
    kind: z.enum(['replay', 'recover']),
    consumer_id: z.string().nullable().meta({
      description: "The consumer whose deliveries it replays, if only one's: its portal sessions see it.",
    }),
    filter: z.strictObject({
      consumer_id: z.string().optional(),
      endpoint_id: z.string().optional(),
      event_type: z.string().optional(),
      status: z.enum(DELIVERY_STATUSES).optional(),
      since: z.string().optional(),
      until: z.string().optional(),
    }),
    status: z.enum(OPERATION_STATUSES),
    total: z.number().meta({ description: 'Deliveries the filter matched when the operation started.' }),
    done: z.number(),
    replayed: z.number(),
    skipped: z.number(),
    failed: z.number(),
    workflow_id: z.string(),
    completed_at: z.date().nullable(),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Operation' });

export function presentOperation(o: OperationDoc): z.output<typeof OperationResource> {
  return {
    id: o._id,
    project_id: o.project_id,
    kind: o.kind,
    consumer_id: o.consumer_id ?? null,
    filter: o.filter,
    status: o.status,
    total: o.total,
    done: o.done,
    replayed: o.replayed,
    skipped: o.skipped,
    failed: o.failed,
    workflow_id: o.workflow_id,
    completed_at: o.completed_at ?? null,
    created_at: o.created_at,
    updated_at: o.updated_at,
  };
}

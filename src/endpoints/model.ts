import { model, Schema } from 'mongoose';
import { z } from 'zod';
import { CircuitResource, type EndpointHealthDoc, presentCircuit } from '../endpoint-health/model';
import { type BreakerSettings, DEFAULT_BREAKER } from '../endpoint-health/settings';
import { DEFAULT_RETRY, type RetrySettings } from '../retry-schedule';
import {
  type AuthSummary,
  currentSigning,
  SIGNING_SCHEMES,
  type SigningSecret,
  type StoredAuth,
  summarizeAuth,
} from './credentials';
import { bumpRoutingStamp } from './routing-stamp';

export const ENDPOINT_STATUSES = ['active', 'paused', 'disabled'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

export interface EndpointDoc {
  _id: string;
  project_id: string;
  /** The consumer it belongs to, or null for the project's own. */
  consumer_id: string | null;
  /** An operational endpoint: it receives hookflow's own events about the project (src/operational). */
  operational?: boolean;
  url: string;
  description: string;
  /** Exact types, `prefix.*` patterns or `*` (src/events/routing.ts); empty: every type. */
  event_types: string[];
  /** Only events on one of these channels; empty: channels do not matter. */
  channels: string[];
  /** Only events matching this MongoDB-style query (src/events/filter.ts), kept as JSON; null: all. */
  filter_json?: string | null;
  status: EndpointStatus;
  disabled_reason: string | null;
  /** Sealed; the last one without `expires_at` is current (src/endpoints/credentials.ts). */
  secrets: SigningSecret[];
  /** How hookflow authenticates to the receiver, sealed; null: no authentication. */
  auth?: StoredAuth | null;
  headers: Record<string, string>;
  /** Send the attempt's W3C trace context (src/tracing.ts traceHeaders). Missing: false. */
  forward_trace_context?: boolean;
  timeout_ms: number;
  retry: RetrySettings;
  /** Requests per second at most, across every worker (null: no limit). */
  rate_limit_per_s: number | null;
  /** Requests in flight at once at most, across every worker (null: no limit). */
  max_in_flight: number | null;
  /** Overrides of the breaker's defaults (DEFAULT_BREAKER). */
  circuit_breaker: Partial<BreakerSettings>;
  /**
   * False from creation until the breaker first records anything for it (set true before its health document
   * is written), so that an attempt reads that document only when there can be one. Missing (endpoints made
   * before it, or by a bulk insert): read it.
   */
  health_recorded?: boolean;
  metadata: Record<string, string>;
  created_at: Date;
  updated_at: Date;
}

export const DEFAULT_TIMEOUT_MS = 15_000;

const schema = new Schema<EndpointDoc>(
  {
    _id: { type: String, required: true },
    project_id: { type: String, required: true },
    consumer_id: { type: String, default: null },
    operational: { type: Boolean, default: false },
    url: { type: String, required: true },
    description: { type: String, default: '' },
    event_types: { type: [String], default: [] },
    channels: { type: [String], default: [] },
    filter_json: { type: String, default: null },
    status: { type: String, enum: ENDPOINT_STATUSES, default: 'active' },
    disabled_reason: { type: String, default: null },
    secrets: {
      type: [
        {
          _id: false,
          secret: String,
          public_key: { type: String, default: undefined },
          expires_at: { type: Date, default: null },
          created_at: Date,
        },
      ],
      default: [],
    },
    auth: { type: Schema.Types.Mixed, default: null },
    headers: { type: Schema.Types.Mixed, default: {} },
    forward_trace_context: { type: Boolean, default: false },
    timeout_ms: { type: Number, default: DEFAULT_TIMEOUT_MS },
    retry: {
      type: new Schema<RetrySettings>(
        {
          max_attempts: Number,
          initial_interval_ms: Number,
          backoff_coefficient: Number,
          max_interval_ms: Number,
        },
        { _id: false },
      ),
      default: () => ({ ...DEFAULT_RETRY }),
    },
    rate_limit_per_s: { type: Number, default: null },
    max_in_flight: { type: Number, default: null },
    circuit_breaker: { type: Schema.Types.Mixed, default: {} },
    // No default: a default would read as false on older documents, which may have a health document.
    health_recorded: { type: Boolean },
    metadata: { type: Schema.Types.Mixed, default: {} },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false, minimize: false },
);
// Every write bumps the project's routing stamp once it is done: API processes then bring their copies of the
// project's endpoints up to date (src/endpoints/recipients-cache.ts) for the next publish. All writes go
// through these model methods (the driver's would skip this).
for (const op of [
  'updateOne',
  'updateMany',
  'findOneAndUpdate',
  'findOneAndDelete',
  'deleteOne',
  'deleteMany',
] as const) {
  schema.post(op, async function () {
    const projectId = (this.getFilter() as { project_id?: unknown }).project_id;
    await bumpRoutingStamp(typeof projectId === 'string' ? projectId : undefined, {
      deleted: op === 'findOneAndDelete' || op === 'deleteOne' || op === 'deleteMany',
    });
  });
}
schema.pre('save', function () {
  if (this.isNew && this.health_recorded === undefined) this.health_recorded = false;
});
schema.post('save', async (doc) => {
  await bumpRoutingStamp(doc.project_id);
});

// Lists (newest first), and a publish's recipients: those of one consumer, or all active ones.
schema.index({ project_id: 1, _id: 1 });
schema.index({ project_id: 1, status: 1, _id: 1 });
schema.index({ project_id: 1, consumer_id: 1, _id: 1 });
schema.index({ project_id: 1, updated_at: 1 });

export const Endpoint = model<EndpointDoc>('Endpoint', schema, 'endpoints');

/** An endpoint as the API shows it: never its signing secrets. */
export const EndpointResource = z
  .strictObject({
    id: z.string().meta({ example: 'ep_01jd5k8w3v0000000000' }),
    project_id: z.string(),
    consumer_id: z.string().nullable().meta({ description: 'The consumer it belongs to, if any.' }),
    url: z.string(),
    description: z.string(),
    event_types: z
      .array(z.string())
      .meta({ description: 'Event types it receives (exact, `prefix.*` or `*`); empty means all.' }),
    channels: z
      .array(z.string())
      .meta({ description: 'Only events on one of these channels; empty: channels do not matter.' }),
    filter: z.record(z.string(), z.json()).nullable().meta({
      description: 'Only events matching this query over event_type, payload and headers; null: all.',
    }),
    status: z.enum(ENDPOINT_STATUSES),
    disabled_reason: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    signing: z.enum(SIGNING_SCHEMES).meta({
      description: 'How requests are signed: `v1` HMAC-SHA256 with a whsec_ secret, or `v1a` ed25519.',
    }),
    public_key: z.string().nullable().meta({
      description: 'For ed25519 signing, the current public key (whpk_...) receivers verify with; else null.',
    }),
    auth: z
      .strictObject({
        type: z.enum(['basic', 'bearer', 'header', 'oauth2_client_credentials']),
        name: z.string().optional(),
        token_url: z.string().optional(),
        scope: z.string().optional(),
      })
      .nullable()
      .meta({
        description:
          'How hookflow authenticates to the receiver: its type and the parts that are no credential (the header name, the token URL and scope); null: none.',
      }),
    forward_trace_context: z
      .boolean()
      .meta({ description: 'Whether each request carries a W3C traceparent (see the create body).' }),
    timeout_ms: z.number(),
    retry: z.strictObject({
      max_attempts: z.number(),
      initial_interval_ms: z.number(),
      backoff_coefficient: z.number(),
      max_interval_ms: z.number(),
    }),
    rate_limit_per_s: z
      .number()
      .nullable()
      .meta({ description: 'Requests per second at most, across all workers; null: no limit.' }),
    max_in_flight: z
      .number()
      .nullable()
      .meta({ description: 'Requests in flight at once at most, across all workers; null: no limit.' }),
    circuit_breaker: z
      .strictObject({
        failure_rate_pct: z.number(),
        min_attempts: z.number(),
        window_s: z.number(),
        disable_after_s: z.number(),
      })
      .meta({ description: 'The circuit breaker settings in force (defaults unless overridden).' }),
    circuit: CircuitResource,
    metadata: z.record(z.string(), z.string()),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Endpoint' });

/** `health`: the endpoint's breaker as stored (none: it never opened). */
export function presentEndpoint(
  e: EndpointDoc,
  health?: EndpointHealthDoc | null,
): z.output<typeof EndpointResource> {
  return {
    id: e._id,
    project_id: e.project_id,
    consumer_id: e.consumer_id ?? null,
    url: e.url,
    description: e.description,
    event_types: e.event_types,
    channels: e.channels ?? [],
    filter: e.filter_json ? JSON.parse(e.filter_json) : null,
    status: e.status,
    disabled_reason: e.disabled_reason,
    headers: e.headers,
    ...currentSigning(e),
    auth: e.auth ? (summarizeAuth(e.auth) as AuthSummary) : null,
    forward_trace_context: e.forward_trace_context ?? false,
    timeout_ms: e.timeout_ms,
    retry: e.retry,
    rate_limit_per_s: e.rate_limit_per_s,
    max_in_flight: e.max_in_flight ?? null,
    circuit_breaker: { ...DEFAULT_BREAKER, ...e.circuit_breaker },
    circuit: presentCircuit(health),
    metadata: e.metadata,
    created_at: e.created_at,
    updated_at: e.updated_at,
  };
}

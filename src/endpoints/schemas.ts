import { z } from 'zod';
import { consumerRef } from '../consumers/schemas';
import { filterProblem } from '../events/filter';
import { headerMap, metadataMap } from '../http/validate';
import { isValidSecret } from '../signing';
import { SIGNING_SCHEMES } from './credentials';

const RESERVED = /^(content-type|content-length|host|user-agent|webhook-.*|hookflow-.*)$/i;

export const endpointHeaders = headerMap.refine(
  (h) => Object.keys(h).every((name) => !RESERVED.test(name)),
  'content-type, content-length, host, user-agent, webhook-* and hookflow-* headers are set by hookflow',
);

export const eventTypeName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:/-]+$/, 'event types use letters, digits and _ . : / -');

export const RetrySettingsSchema = z.strictObject({
  max_attempts: z.int().min(1).max(50),
  initial_interval_ms: z
    .int()
    .min(1)
    .max(24 * 3_600_000),
  backoff_coefficient: z.number().min(1).max(10),
  max_interval_ms: z
    .int()
    .min(1)
    .max(7 * 24 * 3_600_000),
});

/** The circuit breaker's settings (src/endpoint-health/settings.ts has the defaults). */
const BreakerSettingsSchema = z.strictObject({
  failure_rate_pct: z.int().min(1).max(100),
  min_attempts: z.int().min(1).max(10_000),
  window_s: z
    .int()
    .min(10)
    .max(24 * 3600),
  disable_after_s: z
    .int()
    .min(30)
    .max(30 * 24 * 3600),
});

/** An endpoint's subscription: an exact type, `prefix.*` (one segment or more below it) or `*`. */
export const eventTypePattern = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^(\*|[A-Za-z0-9_.:/-]+?(\.\*)?)$/,
    'event types use letters, digits and _ . : / -; a pattern ends in .* (or is *)',
  );

export const channelName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:/-]+$/, 'channels use letters, digits and _ . : / -');

/** A payload filter, checked as a whole (src/events/filter.ts): where it is wrong, in the issue's path. */
export const endpointFilter = z
  .record(z.string(), z.json())
  .superRefine((filter, ctx) => {
    const problem = filterProblem(filter);
    if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  })
  .nullable();

const url = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048);

const credential = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x20-\x7e]*$/, 'printable ASCII only');

/** How hookflow authenticates to the receiver: write-only, stored sealed (src/endpoints/credentials.ts). */
export const OutboundAuthBody = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('basic'),
      username: credential.max(256).regex(/^[^:]*$/, 'a basic-auth username cannot contain ":"'),
      password: credential,
    }),
    z.strictObject({ type: z.literal('bearer'), token: credential }),
    z.strictObject({
      type: z.literal('header'),
      name: z
        .string()
        .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'invalid header name')
        .refine((name) => !RESERVED.test(name), 'this header is set by hookflow'),
      value: credential,
    }),
    z.strictObject({
      type: z.literal('oauth2_client_credentials'),
      token_url: url,
      client_id: credential.max(256),
      client_secret: credential,
      scope: z
        .string()
        .max(1024)
        .regex(/^[\x21-\x7e ]*$/, 'printable ASCII only')
        .optional(),
    }),
  ])
  .nullable()
  .meta({
    description:
      'Credentials hookflow sends to the receiver: basic, bearer, a header, or an OAuth2 client-credentials token (fetched and cached). Write-only: reads show the type.',
  });

const endpointFields = {
  url,
  description: z.string().max(1000),
  event_types: z.array(eventTypePattern).max(100),
  channels: z.array(channelName).max(100),
  filter: endpointFilter,
  status: z.enum(['active', 'paused']),
  headers: endpointHeaders,
  timeout_ms: z.int().min(100).max(120_000),
  retry: RetrySettingsSchema.partial(),
  rate_limit_per_s: z.int().min(1).max(10_000).nullable(),
  max_in_flight: z.int().min(1).max(100).nullable(),
  circuit_breaker: BreakerSettingsSchema.partial(),
  metadata: metadataMap,
  auth: OutboundAuthBody,
  forward_trace_context: z.boolean().meta({
    description:
      "Send a W3C `traceparent` (and `tracestate`) with each request: the attempt's span in the publish's trace when hookflow's tracing is on, else a fresh unsampled one.",
  }),
};

const secret = z.string().refine(isValidSecret, 'must be whsec_ followed by base64 of 24 to 64 bytes');

export const RotateSecretBody = z.strictObject({
  grace_period_s: z
    .int()
    .min(0)
    .max(7 * 24 * 60 * 60)
    .optional(),
  secret: secret.optional().meta({ description: 'An HMAC secret of your own (not for ed25519).' }),
  signing: z
    .enum(SIGNING_SCHEMES)
    .optional()
    .meta({ description: 'Switch the signing scheme with the new key (default: the current one).' }),
});

export const CreateEndpointBody = z.strictObject({
  ...endpointFields,
  description: endpointFields.description.optional(),
  event_types: endpointFields.event_types.optional(),
  channels: endpointFields.channels.optional(),
  filter: endpointFields.filter.optional(),
  status: endpointFields.status.optional(),
  headers: endpointFields.headers.optional(),
  timeout_ms: endpointFields.timeout_ms.optional(),
  retry: endpointFields.retry.optional(),
  rate_limit_per_s: endpointFields.rate_limit_per_s.optional(),
  max_in_flight: endpointFields.max_in_flight.optional(),
  circuit_breaker: endpointFields.circuit_breaker.optional(),
  metadata: endpointFields.metadata.optional(),
  auth: endpointFields.auth.optional(),
  forward_trace_context: endpointFields.forward_trace_context.optional(),
  secret: secret.optional().meta({ description: 'An HMAC secret of your own (not for ed25519).' }),
  signing: z
    .enum(SIGNING_SCHEMES)
    .optional()
    .meta({ description: 'How requests are signed (default hmac).' }),
  consumer_id: consumerRef.optional(),
});

/** PATCH: every field optional; `status` may also re-enable a disabled endpoint. */
const updateFields = { ...endpointFields, status: z.enum(['active', 'paused', 'disabled']) };
const somethingToUpdate = [(b: object) => Object.keys(b).length > 0, 'nothing to update'] as const;
export const UpdateEndpointBody = z
  .strictObject(updateFields)
  .partial()
  .refine(...somethingToUpdate);

// Operational endpoints have no consumer and no circuit breaker (their failures raise nothing).
const { circuit_breaker: _noBreaker, ...operationalUpdateFields } = updateFields;
export const CreateOperationalEndpointBody = CreateEndpointBody.omit({
  consumer_id: true,
  circuit_breaker: true,
});
export const UpdateOperationalEndpointBody = z
  .strictObject(operationalUpdateFields)
  .partial()
  .refine(...somethingToUpdate);

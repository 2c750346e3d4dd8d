import { z } from 'zod';
import { consumerRef } from '../consumers/schemas';
import { channelName, endpointHeaders, eventTypeName } from '../endpoints/schemas';
import { resourceId, timestamp } from '../http/validate';

export const idempotencyKey = z.string().min(1).max(255);
/** How far ahead an event may be scheduled: Temporal keeps the wait, and a month is what senders ask for. */
const MAX_SCHEDULE_MS = 30 * 24 * 3_600_000;

export const PublishEventBody = z.strictObject({
  event_type: eventTypeName,
  payload: z
    .json()
    .meta({ id: 'JsonValue', description: 'Any JSON value; sent byte for byte as the request body.' })
    .refine((v) => v !== undefined, 'payload is required'),
  idempotency_key: idempotencyKey.optional(),
  headers: endpointHeaders.optional(),
  endpoint_ids: z.array(resourceId('ep')).min(1).max(100).optional(),
  channels: z
    .array(channelName)
    .max(10)
    .optional()
    .meta({ description: 'Endpoints with channels get the event only if it is on one of theirs.' }),
  deliver_at: timestamp
    .refine((at) => at.getTime() > Date.now(), 'must be in the future')
    .refine((at) => at.getTime() <= Date.now() + MAX_SCHEDULE_MS, 'at most 30 days ahead')
    .optional()
    .meta({ description: 'Deliver then instead of now (RFC 3339, at most 30 days ahead).' }),
  consumer_id: consumerRef
    .optional()
    .meta({ description: "Deliver only to this consumer's endpoints (its id or uid)." }),
});
export type PublishEventBody = z.infer<typeof PublishEventBody>;

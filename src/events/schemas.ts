import { z } from 'zod';
import { consumerRef } from '../consumers/schemas';
import { channelName, endpointHeaders, eventTypeName } from '../endpoints/schemas';
import { resourceId } from '../http/validate';

export const idempotencyKey = z.string().min(1).max(255);

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
  consumer_id: consumerRef
    .optional()
    .meta({ description: "Deliver only to this consumer's endpoints (its id or uid)." }),
});
export type PublishEventBody = z.infer<typeof PublishEventBody>;

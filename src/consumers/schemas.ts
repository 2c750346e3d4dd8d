import { z } from 'zod';
import { metadataMap as metadata } from '../http/validate';
import { ID_PATTERN } from '../ids';

/** A uid: the caller's own id, never one shaped like a hookflow id (both are accepted in the same places). */
export const consumerUid = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'uids use letters, digits and _ . : @ -')
  .refine((uid) => !ID_PATTERN.test(uid), 'a uid may not look like a hookflow id');

/** A consumer named by its id (`con_...`) or its uid. */
export const consumerRef = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'a consumer id or uid')
  .meta({ description: 'A consumer id (`con_...`) or its uid.' });

export const CreateConsumerBody = z.strictObject({
  name: z.string().min(1).max(256),
  uid: consumerUid.optional(),
  metadata: metadata.optional(),
});

export const UpdateConsumerBody = z
  .strictObject({
    name: z.string().min(1).max(256),
    uid: consumerUid.nullable(),
    metadata,
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');

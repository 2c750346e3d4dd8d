import { model, Schema } from 'mongoose';
import { z } from 'zod';
import { findOwned } from '../db';
import { ID_PATTERN } from '../ids';

/** One customer of the project's SaaS: the owner of some of its endpoints. */
export interface ConsumerDoc {
  _id: string;
  project_id: string;
  name: string;
  /** The caller's own id for the customer, unique per project; usable wherever a consumer id is. */
  uid: string | null;
  /** `uid`, or the consumer id when there is none: what the unique index holds (one index, no nulls). */
  uid_key: string;
  metadata: Record<string, string>;
  created_at: Date;
  updated_at: Date;
}

const schema = new Schema<ConsumerDoc>(
  {
    _id: { type: String, required: true },
    project_id: { type: String, required: true },
    name: { type: String, required: true },
    uid: { type: String, default: null },
    uid_key: { type: String, required: true },
    metadata: { type: Schema.Types.Mixed, default: {} },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false, minimize: false },
);
schema.index({ project_id: 1, uid_key: 1 }, { unique: true });
schema.index({ project_id: 1, _id: 1 });

export const Consumer = model<ConsumerDoc>('Consumer', schema, 'consumers');

/** A consumer of `projectId` by its id or its uid, or null. */
export async function findConsumer(projectId: string, idOrUid: string): Promise<ConsumerDoc | null> {
  if (ID_PATTERN.test(idOrUid)) return findOwned(Consumer, idOrUid, projectId);
  return (await Consumer.collection.findOne({
    project_id: projectId,
    uid_key: idOrUid,
  } as never)) as ConsumerDoc | null;
}

export const ConsumerResource = z
  .strictObject({
    id: z.string().meta({ example: 'con_01jd5k8w3v0000000000' }),
    project_id: z.string(),
    name: z.string(),
    uid: z
      .string()
      .nullable()
      .meta({ description: 'Your own id for the customer; usable as the consumer id.' }),
    metadata: z.record(z.string(), z.string()),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Consumer' });

export function presentConsumer(c: ConsumerDoc): z.output<typeof ConsumerResource> {
  return {
    id: c._id,
    project_id: c.project_id,
    name: c.name,
    uid: c.uid,
    metadata: c.metadata,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}

import { createHash, randomBytes } from 'node:crypto';
import { model, Schema } from 'mongoose';
import { z } from 'zod';
import { newId } from '../ids';

export interface ApiKeyDoc {
  _id: string;
  project_id: string;
  name: string;
  /** First characters of the key, to recognise it in a list; the key itself is never stored. */
  prefix: string;
  /** SHA-256 of the key. API keys are 256-bit random, so a fast hash is enough (no dictionary to guess from). */
  hash: string;
  revoked_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const schema = new Schema<ApiKeyDoc>(
  {
    _id: { type: String, required: true },
    project_id: { type: String, required: true, index: true },
    name: { type: String, default: '' },
    prefix: { type: String, required: true },
    hash: { type: String, required: true, unique: true },
    revoked_at: { type: Date, default: null },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);

export const ApiKey = model<ApiKeyDoc>('ApiKey', schema, 'api_keys');

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Creates a key for `projectId`; the plain key is returned once and never stored. */
export async function issueApiKey(projectId: string, name: string): Promise<{ doc: ApiKeyDoc; key: string }> {
  const key = `hf_${randomBytes(32).toString('base64url')}`;
  const doc = await ApiKey.create({
    _id: newId('key'),
    project_id: projectId,
    name,
    prefix: key.slice(0, 10),
    hash: hashApiKey(key),
  });
  return { doc: doc.toObject(), key };
}

export const ApiKeyResource = z
  .strictObject({
    id: z.string(),
    project_id: z.string(),
    name: z.string(),
    prefix: z.string().meta({ description: 'The first characters of the key; the key is shown only once.' }),
    revoked_at: z.date().nullable(),
    created_at: z.date(),
  })
  .meta({ id: 'ApiKey' });

/** A new key: the one time its secret value is shown. */
export const NewApiKeyResource = ApiKeyResource.extend({ key: z.string() }).meta({ id: 'NewApiKey' });

export function presentApiKey(k: ApiKeyDoc): z.output<typeof ApiKeyResource> {
  return {
    id: k._id,
    project_id: k.project_id,
    name: k.name,
    prefix: k.prefix,
    revoked_at: k.revoked_at,
    created_at: k.created_at,
  };
}

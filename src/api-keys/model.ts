import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
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
    project_id: { type: String, required: true },
    name: { type: String, default: '' },
    prefix: { type: String, required: true },
    hash: { type: String, required: true, unique: true },
    revoked_at: { type: Date, default: null },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);
schema.index({ project_id: 1, _id: 1 });

export const ApiKey = model<ApiKeyDoc>('ApiKey', schema, 'api_keys');

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

// A key carries its own id (`hf_<id>_<secret>`), so a request's key is found by `_id`: the lookup every
// store serves from an index, where a filter on the hash makes the embedded FerretDB scan every key.
// Keys issued before (`hf_<secret>`, 46 characters) cannot match the pattern and are found by their hash.
const KEY_WITH_ID = /^hf_([0-9a-z]{20})_[A-Za-z0-9_-]{43}$/;

export type LiveApiKey = Pick<ApiKeyDoc, '_id' | 'project_id'>;

/** The live (not revoked) key document for a presented key, or null. */
async function findLiveApiKey(key: string, hash: string): Promise<LiveApiKey | null> {
  const carried = KEY_WITH_ID.exec(key);
  const filter = carried ? { _id: `key_${carried[1]}`, hash } : { hash };
  // The driver: this runs on every request the cache misses.
  return ApiKey.collection.findOne<LiveApiKey>({ ...filter, revoked_at: null } as never, {
    projection: { project_id: 1 },
  });
}

/**
 * Checks presented keys. A key found live is trusted for `ttlMs` without another lookup: every request
 * starts with this check, and one MongoDB round trip less is a few milliseconds of every publish. The
 * price is revocation: the API process that revokes a key forgets it at once, any other within `ttlMs`.
 * Keys not found are never kept, so a key works on every process as soon as it is issued.
 */
export class ApiKeyVerifier {
  private readonly live: LRUCache<string, LiveApiKey, string> | null;

  constructor(ttlMs: number) {
    this.live =
      ttlMs > 0
        ? new LRUCache<string, LiveApiKey, string>({
            max: 10_000,
            ttl: ttlMs,
            // Requests with the same key arriving together share one lookup.
            fetchMethod: async (hash, _stale, { context: key }) =>
              (await findLiveApiKey(key, hash)) ?? undefined,
          })
        : null;
  }

  async verify(key: string): Promise<LiveApiKey | null> {
    const hash = hashApiKey(key);
    if (!this.live) return findLiveApiKey(key, hash);
    try {
      return (await this.live.fetch(hash, { context: key })) ?? null;
    } catch {
      // A revocation in this process (`forget`) aborts a lookup of the same key still under way; that
      // request looks the key up afresh rather than failing. A store error repeats there and is reported.
      return findLiveApiKey(key, hash);
    }
  }

  /** Called with a key just revoked: this process stops accepting it at once. */
  forget(hash: string): void {
    this.live?.delete(hash);
  }
}

/** Creates a key for `projectId`; the plain key is returned once and never stored. */
export async function issueApiKey(projectId: string, name: string): Promise<{ doc: ApiKeyDoc; key: string }> {
  const id = newId('key');
  const key = `hf_${id.slice('key_'.length)}_${randomBytes(32).toString('base64url')}`;
  const doc = await ApiKey.create({
    _id: id,
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

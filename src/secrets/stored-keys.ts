// Which encryption keys the stored data may need, checked at start-up, and `rotate-keys`: everything resealed
// under the first key. A record of the key ids in use (every process adds its sealing key before it seals
// anything) makes the start-up check one read however many endpoints there are.
import { model, Schema } from 'mongoose';
import type { SigningSecret, StoredAuth } from '../endpoints/credentials';
import { Endpoint } from '../endpoints/model';
import { type Keyring, KeyringError, sealedKeyId } from './keyring';

interface KeysInUseDoc {
  _id: string;
  key_ids: string[];
}

const KeysInUse = model<KeysInUseDoc>(
  'KeysInUse',
  new Schema<KeysInUseDoc>({ _id: String, key_ids: [String] }, { versionKey: false }),
  'encryption_keys',
);
const RECORD = 'in_use';

/**
 * Refuses (KeyringError) when stored secrets may be sealed with a key the keyring lacks; then records the
 * keyring's sealing key as in use. The first time (data from before encryption), seals what is stored in clear.
 */
export async function checkStoredKeys(ring: Keyring): Promise<void> {
  const record = await KeysInUse.findById(RECORD).lean();
  if (record) {
    const missing = record.key_ids.filter((id) => !ring.ids.includes(id));
    if (missing.length > 0)
      throw new KeyringError(
        `stored secrets are sealed with ${missing.map((id) => `"${id}"`).join(', ')}, which HOOKFLOW_ENCRYPTION_KEYS does not list (it lists ${ring.ids.map((id) => `"${id}"`).join(', ')}): add the missing keys after the first one`,
      );
  } else {
    await reseal(ring, { onlyClear: true });
  }
  await KeysInUse.updateOne({ _id: RECORD }, { $addToSet: { key_ids: ring.primaryId } }, { upsert: true });
}

/** Reseals every stored secret under the sealing key, then records that only it is in use. */
export async function rotateKeys(ring: Keyring): Promise<{ endpoints: number }> {
  await KeysInUse.updateOne({ _id: RECORD }, { $addToSet: { key_ids: ring.primaryId } }, { upsert: true });
  const resealed = await reseal(ring, { onlyClear: false });
  await KeysInUse.updateOne({ _id: RECORD }, { $set: { key_ids: [ring.primaryId] } }, { upsert: true });
  return resealed;
}

interface SealedFields {
  _id: string;
  secrets: SigningSecret[];
  auth?: StoredAuth | null;
  updated_at: Date;
}

/**
 * Each endpoint whose secrets are in clear (or, unless `onlyClear`, sealed with another key) written anew,
 * on the condition that it did not change meanwhile (else read again).
 */
async function reseal(ring: Keyring, { onlyClear }: { onlyClear: boolean }): Promise<{ endpoints: number }> {
  const stale = (stored: string) => {
    const id = sealedKeyId(stored);
    return id === null || (!onlyClear && id !== ring.primaryId);
  };
  const resealValue = (stored: string) => (stale(stored) ? ring.seal(ring.open(stored)) : stored);
  let endpoints = 0;
  const cursor = Endpoint.collection.find({}, { projection: { secrets: 1, auth: 1, updated_at: 1 } });
  for await (const first of cursor) {
    let doc = first as unknown as SealedFields | null;
    for (let tries = 0; doc && tries < 10; tries++) {
      const values = [...doc.secrets.map((s) => s.secret), ...(doc.auth ? [doc.auth.credentials] : [])];
      if (!values.some(stale)) break;
      const secrets = doc.secrets.map((s) => ({ ...s, secret: resealValue(s.secret) }));
      const auth = doc.auth ? { ...doc.auth, credentials: resealValue(doc.auth.credentials) } : doc.auth;
      const { matchedCount } = await Endpoint.updateOne(
        { _id: doc._id, updated_at: doc.updated_at },
        { $set: { secrets, auth } },
        { timestamps: false },
      );
      if (matchedCount === 1) {
        endpoints++;
        break;
      }
      doc = (await Endpoint.collection.findOne({ _id: doc._id } as never)) as unknown as SealedFields | null;
    }
  }
  return { endpoints };
}

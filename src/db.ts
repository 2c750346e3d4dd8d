import mongoose, { type Model } from 'mongoose';

export async function connectMongo(uri: string): Promise<typeof mongoose> {
  mongoose.set('strictQuery', true);
  // autoIndex: each model's indexes (unique idempotency keys above all) must exist before the first write.
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 10_000, autoIndex: true });
  await Promise.all(Object.values(mongoose.models).map((model) => model.init()));
  return mongoose;
}

/** A duplicate-key error, or a bulk insert whose every failure is one: what a repeated insert of the same ids gives. */
export function isDuplicateKeyError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, writeErrors } = err as {
    code?: number;
    writeErrors?: { code?: number; err?: { code?: number } }[];
  };
  if (writeErrors?.length) return writeErrors.every((e) => (e.code ?? e.err?.code) === 11000);
  return code === 11000;
}

/**
 * The object `id` if it belongs to `projectId`, else null. Looks up by `_id` alone and checks the project
 * here: FerretDB serves a filter that is exactly `{_id}` from its index and scans the collection for any
 * other, so `{_id, project_id}` would cost a full scan.
 */
export async function findOwned<D extends { project_id: string }>(
  model: Model<D>,
  id: string,
  projectId: string,
): Promise<D | null> {
  const doc = (await model.findById(id).lean()) as D | null;
  return doc && doc.project_id === projectId ? doc : null;
}

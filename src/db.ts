import mongoose, { type Model } from 'mongoose';

export async function connectMongo(uri: string): Promise<typeof mongoose> {
  mongoose.set('strictQuery', true);
  // autoIndex: each model's indexes (unique idempotency keys above all) must exist before the first write.
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 10_000, autoIndex: true });
  await Promise.all(Object.values(mongoose.models).map((model) => model.init()));
  await dropReplacedIndexes(mongoose);
  return mongoose;
}

/**
 * Indexes earlier versions of hookflow made that the ones ending in `_id` replaced (autoIndex creates, never
 * drops): each costs every write to its collection. Only these names, never an index an operator added.
 */
const REPLACED_INDEXES: Record<string, string[]> = {
  deliveries: ['project_id_1_endpoint_id_1', 'project_id_1_event_id_1', 'project_id_1_status_1'],
  events: ['project_id_1_event_type_1'],
  endpoints: ['project_id_1'],
  operations: ['project_id_1'],
  api_keys: ['project_id_1'],
  held_deliveries: ['endpoint_id_1'],
};

export async function dropReplacedIndexes(connected: typeof mongoose): Promise<void> {
  const db = connected.connection.db;
  if (!db) return;
  for (const [collection, names] of Object.entries(REPLACED_INDEXES)) {
    const existing = new Set((await db.collection(collection).indexes()).map((index) => index.name));
    for (const name of names) if (existing.has(name)) await db.collection(collection).dropIndex(name);
  }
}

/**
 * What a production MongoDB should have and this one lacks, in words (start-up logs each as a warning; none
 * stops hookflow, as a lone server works for trying it out): a replica set, retryable writes (the driver
 * retries a write once across a failover), and majority write concern (an acknowledged write survives one).
 */
export async function storeWarnings(connected: typeof mongoose): Promise<string[]> {
  const warnings: string[] = [];
  const hello = await connected.connection.db?.admin().command({ hello: 1 });
  if (!hello?.setName)
    warnings.push(
      'MongoDB is not a replica set: a failover loses acknowledged writes and retryable writes are off; run a replica set (Atlas always is) and add replicaSet=<name> to MONGODB_URI',
    );
  const options = connected.connection.getClient().options;
  if (options.retryWrites === false)
    warnings.push(
      'MONGODB_URI sets retryWrites=false: a write cut by a failover fails instead of being retried once',
    );
  const w = options.writeConcern?.w;
  if (w !== undefined && w !== 'majority')
    warnings.push(
      `MONGODB_URI sets w=${w}: a write acknowledged by fewer than a majority can be lost in a failover; use w=majority`,
    );
  return warnings;
}

/** A duplicate-key error, or a bulk insert whose every failure is one: what a repeated insert of the same ids gives. */
export function isDuplicateKeyError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, writeErrors, message } = err as {
    code?: number;
    message?: string;
    writeErrors?: { code?: number; err?: { code?: number } }[];
  };
  if (writeErrors?.length) return writeErrors.every((e) => (e.code ?? e.err?.code) === 11000);
  // The embedded FerretDB answers an update that breaks a unique index with SQLite's own error, no code.
  return code === 11000 || (typeof message === 'string' && message.includes('UNIQUE constraint failed'));
}

/**
 * The object `id` if it belongs to `projectId`, else null. Straight to the driver, as a lean mongoose query
 * would return the same plain document at about twice the CPU: this runs on every attempt and API read.
 * (The embedded FerretDB serves a filter holding `_id` from its index: tools/ferretdb/patch.mjs.)
 */
export async function findOwned<D extends { project_id: string }>(
  model: Model<D>,
  id: string,
  projectId: string,
): Promise<D | null> {
  return (await model.collection.findOne({ _id: id, project_id: projectId } as never)) as D | null;
}

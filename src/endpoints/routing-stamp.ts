import { randomBytes } from 'node:crypto';
import { model, Schema } from 'mongoose';

/**
 * A stamp per project that changes after every write to its endpoints (and one for all projects, `*`, for a
 * write whose project is not known), its event types or its settings, so that an API process can keep a
 * project's endpoints and catalogue in memory and know when to read them again
 * (src/endpoints/recipients-cache.ts, `assertPublishable`). Written by the Endpoint model's hooks and
 * `catalogueChanged`.
 * `reset` changes only with a delete: a copy then cannot be brought up to date from `updated_at`.
 */
interface RoutingStampDoc {
  _id: string;
  version: string;
  reset?: string;
}

const Stamps = model<RoutingStampDoc>(
  'RoutingStamp',
  new Schema<RoutingStampDoc>({ _id: String, version: String, reset: String }, { versionKey: false }),
  'routing_stamps',
);

const ALL_PROJECTS = '*';

/**
 * How long a copy kept under an unchanged stamp is trusted. The one change a stamp cannot announce is a write
 * whose process died between the write and the stamp; a copy older than this is read again.
 */
export const COPY_TRUST_MS = 60_000;

export async function bumpRoutingStamp(
  projectId: string | undefined,
  { deleted = false } = {},
): Promise<void> {
  const version = randomBytes(8).toString('hex');
  await Stamps.collection.updateOne(
    { _id: projectId ?? ALL_PROJECTS } as never,
    { $set: deleted || !projectId ? { version, reset: version } : { version } },
    { upsert: true },
  );
}

/** What a copy of `projectId`'s endpoints is valid under: its stamp and that of all projects. */
export interface RoutingStamp {
  version: string;
  /** Changes with a delete in the project, and with any write whose project is not known. */
  reset: string;
}

export async function routingStamp(projectId: string): Promise<RoutingStamp> {
  const stamps = (await Stamps.collection
    .find({ _id: { $in: [projectId, ALL_PROJECTS] } } as never)
    .toArray()) as unknown as RoutingStampDoc[];
  const own = stamps.find((s) => s._id === projectId);
  const all = stamps.find((s) => s._id === ALL_PROJECTS);
  return {
    version: `${own?.version ?? ''}/${all?.version ?? ''}`,
    reset: `${own?.reset ?? ''}/${all?.reset ?? ''}`,
  };
}

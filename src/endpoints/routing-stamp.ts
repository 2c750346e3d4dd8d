import { randomBytes } from 'node:crypto';
import { model, Schema } from 'mongoose';

/**
 * A stamp per project that changes after every write to its endpoints (and one for all projects, `*`, for a
 * write whose project is not known), so that an API process can keep a project's endpoints in memory and
 * know when to read them again (src/endpoints/recipients-cache.ts). Written by the Endpoint model's hooks.
 */
interface RoutingStampDoc {
  _id: string;
  version: string;
}

export const RoutingStamp = model<RoutingStampDoc>(
  'RoutingStamp',
  new Schema<RoutingStampDoc>({ _id: String, version: String }, { versionKey: false }),
  'routing_stamps',
);

export const ALL_PROJECTS = '*';

export async function bumpRoutingStamp(projectId: string | undefined): Promise<void> {
  await RoutingStamp.collection.updateOne(
    { _id: projectId ?? ALL_PROJECTS } as never,
    { $set: { version: randomBytes(8).toString('hex') } },
    { upsert: true },
  );
}

/** The stamps a cache of `projectId`'s endpoints is valid under, as one string. */
export async function routingStamp(projectId: string): Promise<string> {
  const stamps = await RoutingStamp.collection
    .find({ _id: { $in: [projectId, ALL_PROJECTS] } } as never)
    .toArray();
  return stamps
    .map((s) => `${s._id}=${s.version}`)
    .sort()
    .join(',');
}

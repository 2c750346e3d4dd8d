import { LRUCache } from 'lru-cache';
import { Endpoint, type EndpointDoc } from './model';
import { routingStamp } from './routing-stamp';

/**
 * A project's active endpoints, kept in this process for the publishes that go to the whole project: reading
 * thousands of endpoint documents from the embedded store takes seconds, a stamp read takes one `_id` lookup.
 * A copy is used while the project's routing stamp is unchanged (every endpoint write changes it after
 * the write). A copy older than TRUST_MS is still used once and read again in the background: the only
 * change it can miss is one whose process died between the write and the stamp.
 */
const TRUST_MS = 60_000;

interface Copy {
  stamp: string;
  loadedAt: number;
  endpoints: readonly EndpointDoc[];
}

const copies = new LRUCache<string, Copy>({ max: 1000 });
const loads = new Map<string, Promise<Copy>>();

function load(projectId: string, stamp: string): Promise<Copy> {
  const key = `${projectId} ${stamp}`;
  let pending = loads.get(key);
  if (!pending) {
    pending = (async () => {
      const endpoints = (await Endpoint.collection
        .find({ project_id: projectId, status: 'active' } as never)
        .toArray()) as unknown as EndpointDoc[];
      const copy = { stamp, loadedAt: Date.now(), endpoints };
      copies.set(projectId, copy);
      return copy;
    })().finally(() => loads.delete(key));
    loads.set(key, pending);
  }
  return pending;
}

/** The project's active endpoints (operational ones too), as of the last write to them. Do not modify. */
export async function activeEndpointsOf(projectId: string): Promise<readonly EndpointDoc[]> {
  const stamp = await routingStamp(projectId);
  const copy = copies.get(projectId);
  if (copy?.stamp === stamp) {
    if (Date.now() - copy.loadedAt > TRUST_MS) void load(projectId, stamp).catch(() => {});
    return copy.endpoints;
  }
  return (await load(projectId, stamp)).endpoints;
}

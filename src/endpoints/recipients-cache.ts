import { LRUCache } from 'lru-cache';
import { Endpoint, type EndpointDoc } from './model';
import { COPY_TRUST_MS, type RoutingStamp, routingStamp } from './routing-stamp';

/**
 * A project's active endpoints, kept in this process for the publishes that go to the whole project: reading
 * thousands of endpoint documents from the embedded store takes seconds, a stamp read one `_id` lookup.
 *
 * A copy is used while the project's routing stamp is unchanged: every endpoint write changes it after the
 * write. After a change the copy is brought up to date with the endpoints updated since it was read (an index
 * on `updated_at`; CLOCK_MARGIN_MS covers the clocks of other processes and a write's own duration); after a
 * delete, which leaves nothing to find, it is read whole again. A copy older than COPY_TRUST_MS is still used
 * once and read again in the background.
 */
const CLOCK_MARGIN_MS = 60_000;

interface Copy {
  stamp: RoutingStamp;
  /** This process's clock when the read that made the copy began. */
  readAt: number;
  endpoints: Map<string, EndpointDoc>;
  list: readonly EndpointDoc[];
}

const copies = new LRUCache<string, Copy>({ max: 1000 });
const loads = new Map<string, Promise<Copy>>();

async function read(projectId: string, stamp: RoutingStamp, base: Copy | undefined): Promise<Copy> {
  const readAt = Date.now();
  const incremental = base && base.stamp.reset === stamp.reset;
  const changed = (await Endpoint.collection
    .find(
      (incremental
        ? { project_id: projectId, updated_at: { $gte: new Date(base.readAt - CLOCK_MARGIN_MS) } }
        : { project_id: projectId, status: 'active' }) as never,
    )
    .toArray()) as unknown as EndpointDoc[];
  const endpoints = new Map(incremental ? base.endpoints : []);
  for (const endpoint of changed) {
    if (endpoint.status === 'active') endpoints.set(endpoint._id, endpoint);
    else endpoints.delete(endpoint._id);
  }
  const copy = { stamp, readAt, endpoints, list: [...endpoints.values()] };
  copies.set(projectId, copy);
  return copy;
}

function load(projectId: string, stamp: RoutingStamp, base: Copy | undefined): Promise<Copy> {
  const key = `${projectId} ${stamp.version} ${stamp.reset}`;
  let pending = loads.get(key);
  if (!pending) {
    pending = read(projectId, stamp, base).finally(() => loads.delete(key));
    loads.set(key, pending);
  }
  return pending;
}

/** The project's active endpoints (operational ones too), as of the last write to them. Do not modify. */
export async function activeEndpointsOf(
  projectId: string,
  /** The project's stamp as read after the publish began, if the caller has it. */
  known?: RoutingStamp,
): Promise<readonly EndpointDoc[]> {
  const stamp = known ?? (await routingStamp(projectId));
  const copy = copies.get(projectId);
  if (copy?.stamp.version === stamp.version && copy.stamp.reset === stamp.reset) {
    if (Date.now() - copy.readAt > COPY_TRUST_MS) void load(projectId, stamp, undefined).catch(() => {});
    return copy.list;
  }
  return (await load(projectId, stamp, copy)).list;
}

// Retention: each project's deliveries (views and their attempts) and events older than its retention_days are
// deleted, a page at a time, by the retention workflow that a Temporal Schedule starts every hour, and with
// them the statistics of those hours and the bulk operations that ended then. The same pass finds pending views a publish left without a workflow (it died between storing them and starting the
// workflows, and its client never retried) and starts their workflows, which finish them.

import { findOwned } from '../db';
import { Delivery, DeliveryAttempt, type NewDelivery } from '../deliveries/model';
import { startDeliveryWorkflow, type TemporalTarget } from '../deliveries/start';
import { FINAL_STATUSES } from '../deliveries/status';
import { DEFAULT_TIMEOUT_MS, Endpoint } from '../endpoints/model';
import { FanOutPage } from '../events/fan-out';
import { Event } from '../events/model';
import { idTimeRange } from '../ids';
import { Operation, OperationPage } from '../operations/model';
import { DEFAULT_RETENTION_DAYS, Project } from '../projects/model';
import { DEFAULT_RETRY } from '../retry-schedule';
import { ensureIntervalSchedule } from '../schedules';
import { StatsBucket } from '../stats/model';
import { NO_RETENTION_COUNTS, type RetentionCounts, type RetentionCursor } from './contract';
import { deliveriesCutoff, eventsCutoff } from './window';

/** Documents per step: each step is a few short writes, so deliveries never wait long for the store. */
export const RETENTION_PAGE = 200;
/** A pending view this old whose workflow never started is an orphan (a publish takes seconds). */
export const ORPHAN_AFTER_MS = 10 * 60_000;

export function retentionScheduleId(taskQueue: string): string {
  return `hookflow-retention-${taskQueue}`;
}

export function ensureRetentionSchedule(client: TemporalTarget['client'], taskQueue: string): Promise<void> {
  return ensureIntervalSchedule(client, {
    scheduleId: retentionScheduleId(taskQueue),
    workflowType: 'retentionWorkflow',
    workflowId: `retention-${taskQueue}`,
    taskQueue,
    everyMs: 3_600_000,
  });
}

/** One page of the pass; returns where the next starts, or null when every project is done. */
export async function retentionStep(
  temporal: TemporalTarget,
  cursor: RetentionCursor,
  now = Date.now(),
): Promise<{ next: RetentionCursor | null; counts: RetentionCounts }> {
  const project = await Project.collection.findOne(
    cursor.projectId ? { _id: cursor.projectId as never } : {},
    { sort: { _id: 1 } },
  );
  if (!project)
    return cursor.projectId ? nextProject(cursor.projectId) : { next: null, counts: NO_RETENTION_COUNTS };
  const projectId = String(project._id);
  const days = project.retention_days ?? DEFAULT_RETENTION_DAYS;
  const at = { ...cursor, projectId };
  if (cursor.phase === 'deliveries') return expireDeliveries(at, projectId, deliveriesCutoff(days, now));
  if (cursor.phase === 'events') return expireEvents(at, projectId, eventsCutoff(days, now));
  if (cursor.phase === 'statistics') return expireStatistics(at, projectId, deliveriesCutoff(days, now));
  if (cursor.phase === 'operations') return expireOperations(at, projectId, deliveriesCutoff(days, now));
  return startOrphans(temporal, at, projectId, new Date(now - ORPHAN_AFTER_MS));
}

async function nextProject(after: string) {
  const next = await Project.collection.findOne({ _id: { $gt: after } as never }, { sort: { _id: 1 } });
  return {
    next: next ? { projectId: String(next._id), phase: 'deliveries' as const, after: null } : null,
    counts: NO_RETENTION_COUNTS,
  };
}

/** Final views made before the cutoff, and their attempts. Unfinished ones stay until they finish. */
async function expireDeliveries(cursor: RetentionCursor, projectId: string, cutoff: Date) {
  const before = idTimeRange('dlv', undefined, cutoff);
  const found = await Promise.all(
    FINAL_STATUSES.map((status) =>
      Delivery.collection
        .find({ project_id: projectId, status, _id: before } as never, { projection: { _id: 1 } })
        .sort({ _id: 1 })
        .limit(RETENTION_PAGE)
        .toArray(),
    ),
  );
  const ids = found
    .flat()
    .map((d) => String(d._id))
    .sort()
    .slice(0, RETENTION_PAGE);
  if (ids.length === 0)
    return { next: { ...cursor, phase: 'events' as const, after: null }, counts: NO_RETENTION_COUNTS };
  // Attempts first: a step cut short leaves views whose attempts are gone, never attempts without a view.
  const attempts = await DeliveryAttempt.collection.deleteMany({ delivery_id: { $in: ids } } as never);
  const views = await Delivery.collection.deleteMany({
    _id: { $in: ids },
    status: { $in: FINAL_STATUSES },
  } as never);
  return {
    next: cursor,
    counts: { ...NO_RETENTION_COUNTS, deliveries: views.deletedCount, attempts: attempts.deletedCount },
  };
}

/**
 * Events made before the cutoff (a day past the deliveries': src/retention/window.ts) that no delivery still
 * refers to (an unfinished one, or a recent replay).
 */
async function expireEvents(cursor: RetentionCursor, projectId: string, cutoff: Date) {
  const range = { ...idTimeRange('evt', undefined, cutoff), ...(cursor.after ? { $gt: cursor.after } : {}) };
  const events = await Event.collection
    .find({ project_id: projectId, _id: range } as never, { projection: { _id: 1 } })
    .sort({ _id: 1 })
    .limit(RETENTION_PAGE)
    .toArray();
  if (events.length === 0)
    return { next: { ...cursor, phase: 'statistics' as const, after: null }, counts: NO_RETENTION_COUNTS };
  const ids = events.map((e) => String(e._id));
  const referred = await Promise.all(
    ids.map((id) =>
      Delivery.collection.findOne({ project_id: projectId, event_id: id } as never, {
        projection: { _id: 1 },
      }),
    ),
  );
  const unreferred = ids.filter((_, i) => referred[i] === null);
  if (unreferred.length > 0) {
    await FanOutPage.collection.deleteMany({ event_id: { $in: unreferred } } as never);
    await Event.collection.deleteMany({ _id: { $in: unreferred } } as never);
  }
  return {
    next: { ...cursor, after: ids[ids.length - 1] },
    counts: { ...NO_RETENTION_COUNTS, events: unreferred.length },
  };
}

/** Statistics of the hours before the cutoff: the deliveries they counted are gone. */
async function expireStatistics(cursor: RetentionCursor, projectId: string, cutoff: Date) {
  const buckets = await StatsBucket.collection
    .find({ project_id: projectId, hour: { $lt: cutoff } } as never, { projection: { _id: 1 } })
    .limit(RETENTION_PAGE)
    .toArray();
  if (buckets.length === 0)
    return { next: { ...cursor, phase: 'operations' as const, after: null }, counts: NO_RETENTION_COUNTS };
  const deleted = await StatsBucket.collection.deleteMany({
    _id: { $in: buckets.map((b) => b._id) },
  } as never);
  return { next: cursor, counts: { ...NO_RETENTION_COUNTS, statistics: deleted.deletedCount } };
}

/** Bulk operations begun before the cutoff that have ended, with their pages of delivery ids. */
async function expireOperations(cursor: RetentionCursor, projectId: string, cutoff: Date) {
  const range = { ...idTimeRange('op', undefined, cutoff), ...(cursor.after ? { $gt: cursor.after } : {}) };
  const operations = await Operation.collection
    .find({ project_id: projectId, _id: range } as never, { projection: { _id: 1, status: 1 } })
    .sort({ _id: 1 })
    .limit(RETENTION_PAGE)
    .toArray();
  if (operations.length === 0)
    return { next: { ...cursor, phase: 'orphans' as const, after: null }, counts: NO_RETENTION_COUNTS };
  const ended = operations.filter((o) => o.status !== 'running').map((o) => String(o._id));
  // Pages first: a step cut short leaves an operation without its pages (read only while it runs), never pages
  // without their operation. A page's id is `<operation>:<n>`, and ';' follows ':'.
  for (const id of ended)
    await OperationPage.collection.deleteMany({ _id: { $gt: `${id}:`, $lt: `${id};` } } as never);
  const deleted = await Operation.collection.deleteMany({
    _id: { $in: ended },
    status: { $ne: 'running' },
  } as never);
  return {
    next: { ...cursor, after: String(operations[operations.length - 1]._id) },
    counts: { ...NO_RETENTION_COUNTS, operations: deleted.deletedCount },
  };
}

/** Starts the workflow of each pending view older than ORPHAN_AFTER_MS; one already started is left alone. */
async function startOrphans(
  temporal: TemporalTarget,
  cursor: RetentionCursor,
  projectId: string,
  before: Date,
) {
  const range = { ...idTimeRange('dlv', undefined, before), ...(cursor.after ? { $gt: cursor.after } : {}) };
  const views = (await Delivery.collection
    .find({ project_id: projectId, status: 'pending', _id: range } as never)
    .sort({ _id: 1 })
    .limit(RETENTION_PAGE)
    .toArray()) as unknown as NewDelivery[];
  if (views.length === 0) return nextProject(projectId);
  let orphans = 0;
  for (const view of views) {
    // A deleted endpoint: the workflow's one attempt records that it was deleted, and the view ends failed.
    const endpoint = (await findOwned(Endpoint, view.endpoint_id, projectId)) ?? {
      retry: { ...DEFAULT_RETRY, max_attempts: 1 },
      timeout_ms: DEFAULT_TIMEOUT_MS,
    };
    if (await startDeliveryWorkflow(temporal, view, endpoint)) orphans++;
  }
  return {
    next: { ...cursor, after: String(views[views.length - 1]._id) },
    counts: { ...NO_RETENTION_COUNTS, orphans },
  };
}

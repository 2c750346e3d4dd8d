import { ApplicationFailure, Context } from '@temporalio/activity';
import type { QueryFilter } from 'mongoose';
import { findOwned } from '../src/db';
import { Delivery, type DeliveryDoc } from '../src/deliveries/model';
import { createReplayDelivery } from '../src/deliveries/replay';
import { forEachLimited, type TemporalTarget } from '../src/deliveries/start';
import { Endpoint, type EndpointDoc } from '../src/endpoints/model';
import { Event, type EventDoc } from '../src/events/model';
import { createdBetween } from '../src/http/pagination';
import { derivedId } from '../src/ids';
import type { BulkProgress, ReplayPageResult } from '../src/operations/contract';
import { Operation, type OperationDoc } from '../src/operations/model';

const START_CONCURRENCY = 16;

function targetFilter(op: OperationDoc): QueryFilter<DeliveryDoc> {
  const f = op.filter;
  return {
    project_id: op.project_id,
    ...(f.endpoint_id ? { endpoint_id: f.endpoint_id } : {}),
    ...(f.event_type ? { event_type: f.event_type } : {}),
    ...(f.status ? { status: f.status } : {}),
    ...createdBetween(f.since ? new Date(f.since) : undefined, f.until ? new Date(f.until) : undefined),
  };
}

async function loadOperation(operationId: string): Promise<OperationDoc> {
  const op = await Operation.findById(operationId).lean();
  if (!op) throw ApplicationFailure.nonRetryable(`operation ${operationId} not found`);
  return op;
}

export function createBulkReplayActivities(temporal: TemporalTarget) {
  return {
    /** Counts the deliveries the operation will go through (those older than the operation). */
    async countReplayTargets(operationId: string): Promise<number> {
      const op = await loadOperation(operationId);
      const total = await Delivery.countDocuments({ ...targetFilter(op), _id: { $lt: op.before_id } });
      await Operation.updateOne({ _id: operationId }, { $set: { total } });
      return total;
    },

    /** Replays the next page after `progress.afterId` and records the new progress (absolute, so idempotent). */
    async replayPage({
      operationId,
      progress,
    }: {
      operationId: string;
      progress: BulkProgress;
    }): Promise<ReplayPageResult> {
      const op = await loadOperation(operationId);
      const page = await Delivery.find({
        ...targetFilter(op),
        _id: { $gt: progress.afterId, $lt: op.before_id },
      })
        .sort({ _id: 1 })
        .limit(op.page_size)
        .lean();
      const endpointIds = [...new Set(page.map((d) => d.endpoint_id))];
      const eventIds = [...new Set(page.map((d) => d.event_id))];
      const [endpoints, events] = await Promise.all([
        Endpoint.find({ _id: { $in: endpointIds }, project_id: op.project_id }).lean(),
        // One lookup per event: FerretDB scans the (large) events collection for `$in`, not for `_id`.
        Promise.all(eventIds.map((id) => findOwned(Event, id, op.project_id))),
      ]);
      const endpointById = new Map<string, EndpointDoc>(endpoints.map((e) => [e._id, e]));
      const eventById = new Map<string, EventDoc>(events.flatMap((e) => (e ? [[e._id, e] as const] : [])));

      const next = { ...progress };
      await forEachLimited(page, START_CONCURRENCY, async (original) => {
        const endpoint = endpointById.get(original.endpoint_id);
        const event = eventById.get(original.event_id);
        if (endpoint?.status !== 'active') {
          next.skipped++;
          return;
        }
        if (!event) {
          next.failed++;
          return;
        }
        await createReplayDelivery(temporal, {
          event,
          endpoint,
          trigger: op.kind === 'recover' ? 'recover' : 'replay',
          replayOf: original._id,
          id: derivedId('dlv', op._id, op._id, original._id),
        });
        next.replayed++;
        Context.current().heartbeat();
      });
      next.done += page.length;
      if (page.length > 0) next.afterId = page[page.length - 1]._id;
      await Operation.updateOne(
        { _id: operationId, status: 'running' },
        { $set: { done: next.done, replayed: next.replayed, skipped: next.skipped, failed: next.failed } },
      );
      return { progress: next, exhausted: page.length < op.page_size };
    },

    async finishOperation({
      operationId,
      status,
    }: {
      operationId: string;
      status: 'completed' | 'cancelled';
    }) {
      await Operation.updateOne(
        { _id: operationId, status: 'running' },
        { $set: { status, completed_at: new Date() } },
      );
    },
  };
}

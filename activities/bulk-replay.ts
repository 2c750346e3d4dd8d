import { ApplicationFailure, Context } from '@temporalio/activity';
import type { QueryFilter } from 'mongoose';
import { findOwned, isDuplicateKeyError } from '../src/db';
import { Delivery, type DeliveryDoc } from '../src/deliveries/model';
import { createReplayDelivery } from '../src/deliveries/replay';
import { forEachLimited, type TemporalTarget } from '../src/deliveries/start';
import { Endpoint, type EndpointDoc } from '../src/endpoints/model';
import { Event, type EventDoc } from '../src/events/model';
import { createdBetween } from '../src/http/pagination';
import { derivedIds, idTime } from '../src/ids';
import { emitOperationalEvent } from '../src/operational/events';
import type { BulkProgress } from '../src/operations/contract';
import {
  Operation,
  type OperationDoc,
  OperationPage,
  type OperationPageDoc,
  operationPageId,
} from '../src/operations/model';
import { deliveriesCutoff, retentionDaysOf } from '../src/retention/window';

const START_CONCURRENCY = 16;

export function targetFilter(op: Pick<OperationDoc, 'project_id' | 'filter'>): QueryFilter<DeliveryDoc> {
  const f = op.filter;
  return {
    project_id: op.project_id,
    ...(f.consumer_id ? { consumer_id: f.consumer_id } : {}),
    ...(f.endpoint_id ? { endpoint_id: f.endpoint_id } : {}),
    ...(f.event_type ? { event_type: f.event_type } : {}),
    ...(f.status ? { status: f.status } : {}),
    ...createdBetween(
      'dlv',
      f.since ? new Date(f.since) : undefined,
      f.until ? new Date(f.until) : undefined,
    ),
  };
}

async function loadOperation(operationId: string): Promise<OperationDoc> {
  const op = await Operation.findById(operationId).lean();
  if (!op) throw ApplicationFailure.nonRetryable(`operation ${operationId} not found`);
  return op;
}

export function createBulkReplayActivities(temporal: TemporalTarget) {
  return {
    /**
     * Finds the deliveries the operation goes through (those older than the operation, in id order), stores
     * them as pages and the total on the operation, and returns the number of pages. Idempotent: a retry
     * stores the same pages.
     */
    async planReplayPages(operationId: string): Promise<number> {
      const op = await loadOperation(operationId);
      const ids = (
        await Delivery.find({ $and: [targetFilter(op), { _id: { $lt: op.before_id } }] }, { _id: 1 })
          .sort({ _id: 1 })
          .lean()
      ).map((d) => d._id);
      const pages: OperationPageDoc[] = [];
      for (let n = 0; n * op.page_size < ids.length; n++) {
        pages.push({
          _id: operationPageId(op._id, n),
          delivery_ids: ids.slice(n * op.page_size, (n + 1) * op.page_size),
        });
      }
      try {
        if (pages.length > 0) await OperationPage.insertMany(pages, { ordered: false });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      await Operation.updateOne({ _id: operationId }, { $set: { total: ids.length } });
      return pages.length;
    },

    /** Replays page `progress.page` and records the new progress (absolute counts, so idempotent). */
    async replayPage({
      operationId,
      progress,
    }: {
      operationId: string;
      progress: BulkProgress;
    }): Promise<BulkProgress> {
      const op = await loadOperation(operationId);
      const pageDoc = await OperationPage.findById(operationPageId(op._id, progress.page)).lean();
      const found = await Promise.all(
        (pageDoc?.delivery_ids ?? []).map((id) => Delivery.findById(id).lean()),
      );
      const page = found.filter((d) => d !== null) as DeliveryDoc[];
      const endpointIds = [...new Set(page.map((d) => d.endpoint_id))];
      const eventIds = [...new Set(page.map((d) => d.event_id))];
      const [endpoints, events] = await Promise.all([
        Endpoint.find({ _id: { $in: endpointIds }, project_id: op.project_id }).lean(),
        // One lookup per event: FerretDB scans the (large) events collection for `$in`, not for `_id`.
        Promise.all(eventIds.map((id) => findOwned(Event, id, op.project_id))),
      ]);
      const endpointById = new Map<string, EndpointDoc>(endpoints.map((e) => [e._id, e]));
      const eventById = new Map<string, EventDoc>(events.flatMap((e) => (e ? [[e._id, e] as const] : [])));

      const replayable = deliveriesCutoff(await retentionDaysOf(op.project_id));
      const next = { ...progress, page: progress.page + 1 };
      next.failed += (pageDoc?.delivery_ids.length ?? 0) - page.length;
      await forEachLimited(page, START_CONCURRENCY, async (original) => {
        const endpoint = endpointById.get(original.endpoint_id);
        const event = eventById.get(original.event_id);
        if (endpoint?.status !== 'active') {
          next.skipped++;
          return;
        }
        // A deleted event, an expunged payload, or an event retention is deleting: nothing to send.
        if (!event || event.payload_json === null || idTime(event._id) < replayable) {
          next.failed++;
          return;
        }
        await createReplayDelivery(temporal, {
          event,
          endpoint,
          trigger: op.kind === 'recover' ? 'recover' : 'replay',
          replayOf: original._id,
          id: derivedIds.bulkReplayDelivery(op._id, original._id),
        });
        next.replayed++;
        Context.current().heartbeat();
      });
      next.done += pageDoc?.delivery_ids.length ?? 0;
      await Operation.updateOne(
        { _id: operationId, status: 'running' },
        { $set: { done: next.done, replayed: next.replayed, skipped: next.skipped, failed: next.failed } },
      );
      return next;
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
      const op = await loadOperation(operationId);
      await emitOperationalEvent(
        temporal,
        op.project_id,
        'operation.completed',
        {
          operation_id: operationId,
          kind: op.kind,
          status: op.status === 'cancelled' ? 'cancelled' : 'completed',
          total: op.total,
          replayed: op.replayed,
          skipped: op.skipped,
          failed: op.failed,
        },
        operationId,
      );
    },
  };
}

import Router from '@koa/router';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { consumerRef } from '../consumers/schemas';
import { consumerIdOf, consumerScope, findInScope } from '../consumers/scope';
import { findOwned } from '../db';
import { assertReplayable } from '../deliveries/replay';
import type { TemporalTarget } from '../deliveries/start';
import { DELIVERY_STATUSES } from '../deliveries/status';
import { Endpoint } from '../endpoints/model';
import { auth, projectKeyOnly } from '../http/auth';
import { conflict, notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { listPage, pageOf, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery, resourceId } from '../http/validate';
import { newId } from '../ids';
import type { BulkReplayInput } from './contract';
import {
  Operation,
  type OperationDoc,
  OperationResource,
  operationWorkflowId,
  presentOperation,
  type ReplayFilter,
} from './model';

const datetime = z.iso.datetime({ offset: true });

export const ReplayFilterSchema = z.strictObject({
  consumer_id: consumerRef.optional(),
  endpoint_id: resourceId('ep').optional(),
  event_type: z.string().min(1).max(128).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  since: datetime.optional(),
  until: datetime.optional(),
});
export const BulkReplayBody = z.strictObject({ filter: ReplayFilterSchema });
export const RecoverBody = z.strictObject({ since: datetime, until: datetime.optional() });

const OperationPath = z.object({ id: resourceId('op') });
const EndpointPath = z.object({ id: resourceId('ep') });
const ListQuery = z.object(pageQuery);

const started = { 202: { description: 'The operation, started.', schema: OperationResource } };

export const operationDocs: RouteDocs = {
  'POST /v1/deliveries/replay': {
    tag: 'Operations',
    summary: 'Replay deliveries in bulk',
    description:
      'Replays every delivery matching the filter, as an operation whose progress can be followed.',
    body: BulkReplayBody,
    responses: started,
    errors: { 409: 'The endpoint of the filter is paused or disabled.' },
  },
  'POST /v1/endpoints/{id}/recover': {
    tag: 'Operations',
    summary: 'Recover an endpoint',
    description:
      "Replays every failed delivery of the endpoint created in [since, until). A portal session may recover its consumer's endpoints.",
    path: EndpointPath,
    body: RecoverBody,
    responses: started,
    errors: { 409: 'The endpoint is paused or disabled.' },
  },
  'GET /v1/operations': {
    tag: 'Operations',
    summary: 'List operations',
    description: "A portal session lists its consumer's operations only.",
    query: ListQuery,
    responses: {
      200: { description: 'A page of operations.', schema: pageOf(OperationResource, 'OperationPage') },
    },
  },
  'GET /v1/operations/{id}': {
    tag: 'Operations',
    summary: 'Get an operation',
    path: OperationPath,
    responses: { 200: { description: 'The operation and its progress.', schema: OperationResource } },
  },
  'POST /v1/operations/{id}/cancel': {
    tag: 'Operations',
    summary: 'Cancel an operation',
    description: 'Stops it after the page in progress; deliveries already started carry on.',
    path: OperationPath,
    responses: { 202: { description: 'Cancel requested.', schema: OperationResource } },
    errors: { 409: 'The operation is already over.' },
  },
};

async function startOperation(
  temporal: TemporalTarget,
  pageSize: number,
  { projectId, consumerId }: { projectId: string; consumerId: string | null },
  kind: OperationDoc['kind'],
  filter: ReplayFilter,
): Promise<OperationDoc> {
  const id = newId('op');
  const op = await Operation.create({
    _id: id,
    project_id: projectId,
    kind,
    consumer_id: consumerId,
    filter,
    // Only deliveries that exist now: the replays the operation creates are never replayed by it.
    before_id: newId('dlv'),
    page_size: pageSize,
    workflow_id: operationWorkflowId(id),
  });
  const input: BulkReplayInput = {
    operationId: id,
    progress: { page: 0, done: 0, replayed: 0, skipped: 0, failed: 0 },
    pages: null,
  };
  await temporal.client.workflow.start('bulkReplayWorkflow', {
    taskQueue: temporal.taskQueue,
    workflowId: op.workflow_id,
    args: [input],
    memo: { project_id: projectId, kind },
  });
  return op.toObject();
}

export function operationRoutes(temporal: TemporalTarget, pageSize: number): Router {
  const router = new Router();

  router.post('/v1/deliveries/replay', projectKeyOnly, async (ctx) => {
    const { filter } = parseBody(ctx, BulkReplayBody);
    const { projectId } = auth(ctx);
    if (filter.consumer_id) {
      filter.consumer_id = await consumerIdOf(ctx, filter.consumer_id, {
        body: ['filter', 'consumer_id'],
      });
    }
    const endpoint = filter.endpoint_id ? await findOwned(Endpoint, filter.endpoint_id, projectId) : null;
    if (filter.endpoint_id) {
      if (!endpoint) throw notFound('endpoint');
      assertReplayable(endpoint);
    }
    // A delivery's consumer is its endpoint's: either filter confines the operation to one consumer.
    const consumerId = filter.consumer_id ?? endpoint?.consumer_id ?? null;
    ctx.status = 202;
    ctx.body = presentOperation(
      await startOperation(temporal, pageSize, { projectId, consumerId }, 'replay', filter),
    );
  });

  // Svix's recover: replay every failed delivery of the endpoint created in [since, until).
  // A portal session recovers its consumer's endpoints and follows (or cancels) those operations only.
  router.post('/v1/endpoints/:id/recover', async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const body = parseBody(ctx, RecoverBody);
    const { projectId } = auth(ctx);
    const endpoint = await findInScope(ctx, Endpoint, id);
    if (!endpoint) throw notFound('endpoint');
    assertReplayable(endpoint);
    const filter: ReplayFilter = { endpoint_id: id, status: 'failed', since: body.since, until: body.until };
    const owner = { projectId, consumerId: endpoint.consumer_id ?? null };
    ctx.status = 202;
    ctx.body = presentOperation(await startOperation(temporal, pageSize, owner, 'recover', filter));
  });

  router.get('/v1/operations', async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    const filter = { project_id: auth(ctx).projectId, ...consumerScope(ctx) };
    ctx.body = await listPage(Operation, filter, q, presentOperation);
  });

  router.get('/v1/operations/:id', async (ctx) => {
    const { id } = parsePath(ctx, OperationPath);
    const op = await findInScope(ctx, Operation, id);
    if (!op) throw notFound('operation');
    ctx.body = presentOperation(op);
  });

  router.post('/v1/operations/:id/cancel', async (ctx) => {
    const { id } = parsePath(ctx, OperationPath);
    const op = await findInScope(ctx, Operation, id);
    if (!op) throw notFound('operation');
    if (op.status !== 'running') throw conflict(`operation is already ${op.status}`);
    try {
      await temporal.client.workflow.getHandle(op.workflow_id).signal('cancel');
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw conflict('operation has already finished');
      throw err;
    }
    ctx.status = 202;
    ctx.body = presentOperation(op);
  });

  return router;
}

import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { isDuplicateKeyError } from '../db';
import { type DeliveryWorkflowInput, deliveryWorkflowId, SearchAttributes } from '../delivery-contract';
import type { EndpointDoc } from '../endpoints/model';
import { deliveryTransitions, workflowStarts } from '../metrics';
import { inSpan } from '../tracing';
import { Delivery, type DeliveryDoc, type NewDelivery, newDeliveryView } from './model';

export interface TemporalTarget {
  client: Client;
  taskQueue: string;
}

/** Workflow starts in flight at once for one request. */
const START_CONCURRENCY = 32;

export interface NewDeliveryOf {
  view: NewDelivery;
  endpoint: Pick<EndpointDoc, 'retry' | 'timeout_ms'>;
}

/**
 * Stores new deliveries' views while their workflows start, and returns the views as stored once both are
 * done. Neither waits for the other: the first attempt stores its view if it comes first (`beginAttempt`),
 * which also covers an API that dies between the starts and the insert. Repeating a call is harmless.
 */
export async function startDeliveries(
  temporal: TemporalTarget,
  deliveries: readonly NewDeliveryOf[],
): Promise<DeliveryDoc[]> {
  const [stored] = await Promise.all([
    storeDeliveries(deliveries.map((d) => d.view)),
    forEachLimited(deliveries, START_CONCURRENCY, async (d) => {
      await startDeliveryWorkflow(temporal, d.view, d.endpoint);
    }),
  ]);
  return stored;
}

/**
 * Starts the workflow of a new delivery. Starting twice is harmless: the id is derived from the delivery id,
 * and a closed workflow is never started again. Whether this call started it.
 */
export async function startDeliveryWorkflow(
  temporal: TemporalTarget,
  delivery: NewDelivery,
  endpoint: Pick<EndpointDoc, 'retry' | 'timeout_ms'>,
): Promise<boolean> {
  const input = deliveryWorkflowInput(delivery, endpoint);
  return inSpan(
    'start delivery',
    () => ({ attributes: deliveryAttributes(delivery) }),
    () => startWorkflow(temporal, delivery, input),
  );
}

/** A delivery's ids, as trace attributes. */
export function deliveryAttributes(d: Pick<NewDelivery, '_id' | 'project_id' | 'endpoint_id' | 'event_id'>) {
  return {
    'hookflow.delivery_id': d._id,
    'hookflow.project_id': d.project_id,
    'hookflow.endpoint_id': d.endpoint_id,
    'hookflow.event_id': d.event_id,
  };
}

async function startWorkflow(
  temporal: TemporalTarget,
  delivery: NewDelivery,
  input: DeliveryWorkflowInput,
): Promise<boolean> {
  try {
    const handle = await temporal.client.workflow.start('deliveryWorkflow', {
      taskQueue: temporal.taskQueue,
      workflowId: deliveryWorkflowId(delivery._id),
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      // In a process that runs the worker too (`npm start`), the first workflow task comes back in the start
      // call's answer and runs here, skipping the dispatch through the server; elsewhere it is dispatched.
      requestEagerStart: true,
      typedSearchAttributes: [
        { key: SearchAttributes.projectId, value: delivery.project_id },
        { key: SearchAttributes.endpointId, value: delivery.endpoint_id },
        { key: SearchAttributes.eventType, value: delivery.event_type },
        { key: SearchAttributes.status, value: input.deliverAt ? 'scheduled' : 'pending' },
        ...(delivery.consumer_id ? [{ key: SearchAttributes.consumerId, value: delivery.consumer_id }] : []),
      ],
      memo: { url: delivery.url, event_id: delivery.event_id, delivery_id: delivery._id },
    });
    deliveryTransitions.inc({ status: 'pending', trigger: delivery.trigger });
    workflowStarts.inc({ eager: String(handle.eagerlyStarted) });
    return true;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return false;
  }
}

/** A new delivery's workflow input: ids, the view's other fields and the endpoint's settings at this moment. */
export function deliveryWorkflowInput(
  delivery: NewDelivery,
  endpoint: Pick<EndpointDoc, 'retry' | 'timeout_ms'>,
): DeliveryWorkflowInput {
  return {
    deliveryId: delivery._id,
    projectId: delivery.project_id,
    endpointId: delivery.endpoint_id,
    eventId: delivery.event_id,
    eventType: delivery.event_type,
    retry: endpoint.retry,
    timeoutMs: endpoint.timeout_ms,
    firstAttempt: 'local',
    successShownBy: 'execution-status',
    ...(delivery.deliver_at && delivery.deliver_at > new Date()
      ? { deliverAt: delivery.deliver_at.toISOString() }
      : {}),
    view: {
      consumer_id: delivery.consumer_id,
      event_type: delivery.event_type,
      url: delivery.url,
      trigger: delivery.trigger,
      replay_of_delivery_id: delivery.replay_of_delivery_id,
    },
  };
}

/**
 * Inserts new delivery views and returns them as stored. A view already there under the same id (from a
 * repeated dispatch, a retried bulk page, or a first attempt that came first) is kept as it is. Inserts, not
 * upserts: one write for all the views, where an upsert is a lookup and a write per view.
 */
async function storeDeliveries(views: NewDelivery[]): Promise<DeliveryDoc[]> {
  if (views.length === 0) return [];
  const at = new Date();
  const docs = views.map((view) => newDeliveryView(view, at));
  try {
    await Delivery.collection.insertMany(docs as never[], { ordered: false });
    return docs;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const stored = await Promise.all(
      views.map((v) => Delivery.collection.findOne<DeliveryDoc>({ _id: v._id as never })),
    );
    return stored.filter((d) => d !== null) as DeliveryDoc[];
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(workers);
}

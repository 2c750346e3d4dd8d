// The circuit breaker's writes. The breaker opens here (by the worker whose attempts tripped it) and is then
// run by the endpoint's health workflow (workflows/endpoint-health.ts), which alone probes, closes and
// drains it: one writer at a time, as the embedded store's read-then-replace updates need.
import type { Client } from '@temporalio/client';
import { isDuplicateKeyError } from '../db';
import { type EndpointHealthInput, endpointHealthWorkflowId, Signals } from '../delivery-contract';
import { Endpoint, type EndpointDoc } from '../endpoints/model';
import { circuitTransitions } from '../metrics';
import { EndpointHealth, type EndpointHealthDoc, HeldDelivery, type HoldReason } from './model';
import { probeDelayMs } from './settings';

export function readHealth(endpointId: string): Promise<EndpointHealthDoc | null> {
  return EndpointHealth.collection.findOne({ _id: endpointId } as never) as Promise<EndpointHealthDoc | null>;
}

/** The endpoint's health document if it can have one (see EndpointDoc.health_recorded). */
export function readHealthOf(endpoint: Pick<EndpointDoc, '_id' | 'health_recorded'>) {
  return endpoint.health_recorded === false ? null : readHealth(endpoint._id);
}

/**
 * Marks the endpoint as having breaker state, before any is written: an attempt that read the endpoint before
 * the mark behaves as one that read no health. Straight to the collection: not an endpoint change the routing
 * stamp or `updated_at` should see.
 */
async function markHealthRecorded(endpointId: string): Promise<void> {
  await Endpoint.collection.updateOne({ _id: endpointId } as never, { $set: { health_recorded: true } });
}

export async function writeHealth(endpointId: string, projectId: string, fields: Partial<EndpointHealthDoc>) {
  await markHealthRecorded(endpointId);
  await EndpointHealth.collection.updateOne(
    { _id: endpointId } as never,
    { $set: { project_id: projectId, ...fields } },
    { upsert: true },
  );
}

/** Opens the breaker (unless it is open already) and hands it to the endpoint's health workflow. */
export async function openCircuit(
  client: Client,
  taskQueue: string,
  endpointId: string,
  projectId: string,
): Promise<void> {
  const now = new Date();
  let openedAt = now;
  await markHealthRecorded(endpointId);
  // One write opens it, only if it is closed (or new): workers tripping it at once agree on when it opened.
  try {
    await EndpointHealth.collection.updateOne(
      { _id: endpointId, state: 'closed' } as never,
      {
        $set: {
          project_id: projectId,
          state: 'open',
          since: now,
          opened_at: now,
          next_probe_at: new Date(now.getTime() + probeDelayMs(0)),
          probe_delivery_id: null,
        },
      },
      { upsert: true },
    );
    circuitTransitions.inc({ state: 'open' });
  } catch (err) {
    // Not closed: open already, since the time its document says.
    if (!isDuplicateKeyError(err)) throw err;
    openedAt = (await readHealth(endpointId))?.opened_at ?? now;
  }
  await client.workflow.signalWithStart('endpointHealthWorkflow', {
    workflowId: endpointHealthWorkflowId(endpointId),
    taskQueue,
    args: [{ projectId, endpointId } satisfies EndpointHealthInput],
    signal: Signals.circuitOpened,
    signalArgs: [openedAt.toISOString()],
  });
}

/** Lets the endpoint's waiting deliveries go (PATCH status active): its health workflow drains them. */
export async function resumeEndpoint(
  client: Client,
  taskQueue: string,
  endpointId: string,
  projectId: string,
) {
  await client.workflow.signalWithStart('endpointHealthWorkflow', {
    workflowId: endpointHealthWorkflowId(endpointId),
    taskQueue,
    args: [{ projectId, endpointId } satisfies EndpointHealthInput],
    signal: Signals.resume,
    signalArgs: [],
  });
}

/** Records that a delivery waits for its endpoint; the first hold's place (its id's time) is kept. */
export async function holdDelivery(
  delivery: { deliveryId: string; projectId: string; endpointId: string; workflowId: string },
  reason: HoldReason,
): Promise<void> {
  await HeldDelivery.collection.updateOne(
    { _id: delivery.deliveryId } as never,
    {
      $set: {
        project_id: delivery.projectId,
        endpoint_id: delivery.endpointId,
        workflow_id: delivery.workflowId,
        reason,
        held_at: new Date(),
      },
    },
    { upsert: true },
  );
}

export async function unholdDelivery(deliveryId: string): Promise<void> {
  await HeldDelivery.collection.deleteOne({ _id: deliveryId } as never);
}

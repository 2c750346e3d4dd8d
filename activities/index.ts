import { Context } from '@temporalio/activity';
import { reconcileClosedDeliveries } from '../src/deliveries/reconcile';
import type { TemporalTarget } from '../src/deliveries/start';
import type { FinalStatus } from '../src/deliveries/status';
import { finalStatusOf, markFinal } from '../src/deliveries/view';
import { EndpointGate } from '../src/endpoint-health/gate';
import { startFanOutPage } from '../src/events/fan-out';
import type { FanOutPageRef } from '../src/events/fan-out-contract';
import { deliveryTransitions } from '../src/metrics';
import type { RetentionCursor } from '../src/retention/contract';
import { retentionStep } from '../src/retention/expire';
import { StatsRecorder } from '../src/stats/recorder';
import { createBulkReplayActivities } from './bulk-replay';
import { createEndpointHealthActivities } from './endpoint-health';
import { createOperationalActivities } from './operational';
import { createSendWebhook, type SendWebhookDeps } from './send-webhook';

export interface ActivityDeps extends Omit<SendWebhookDeps, 'gate' | 'stats'> {
  /** Bulk replays start delivery workflows of their own. */
  temporal: TemporalTarget;
}

export function createActivities(deps: ActivityDeps) {
  const gate = new EndpointGate(deps.temporal);
  const stats = new StatsRecorder();
  return {
    sendWebhook: createSendWebhook({ ...deps, gate, stats }),
    /**
     * Cancelled, or failed without the send activity having recorded why (e.g. every attempt timed out).
     * Returns the view's final status: the one asked for, or the one an attempt of this run recorded first.
     */
    async markDeliveryFinal(input: {
      deliveryId: string;
      runId: string;
      status: 'cancelled' | 'failed';
      error: string;
    }): Promise<FinalStatus> {
      const changed = await markFinal(input.deliveryId, input.runId, input.status, input.error);
      if (!changed) return finalStatusOf(input.deliveryId, input.status);
      deliveryTransitions.inc({ status: input.status, trigger: changed.trigger });
      await stats.recordFinal(
        { projectId: changed.project_id, endpointId: changed.endpoint_id },
        input.status,
      );
      return input.status;
    },
    /** One pass of the view reconciler; heartbeats as it goes through the closed runs. */
    async reconcileViews() {
      const { client, taskQueue } = deps.temporal;
      return reconcileClosedDeliveries(
        client,
        taskQueue,
        deps.logger,
        () => Context.current().heartbeat(),
        stats,
      );
    },
    ...createBulkReplayActivities(deps.temporal),
    ...createEndpointHealthActivities(deps.temporal, deps.logger),
    ...createOperationalActivities(deps.temporal),
    /** One page of a retention pass. */
    retentionStep: (cursor: RetentionCursor) => retentionStep(deps.temporal, cursor),
    /** One page of a large publish's or event replay's fan-out. */
    startFanOutPage: (input: FanOutPageRef) => startFanOutPage(deps.temporal, input),
  };
}

export type Activities = ReturnType<typeof createActivities>;

// The endpoint health workflow's steps: probe with the oldest waiting delivery, reopen or close the breaker,
// disable an endpoint whose breaker stayed open too long, and let the waiting deliveries go, oldest first.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TemporalTarget } from '../src/deliveries/start';
import { Signals } from '../src/delivery-contract';
import { readHealth, writeHealth } from '../src/endpoint-health/circuit';
import { HeldDelivery, type HeldDeliveryDoc } from '../src/endpoint-health/model';
import { DEFAULT_DRAIN_PER_S } from '../src/endpoint-health/settings';
import { Endpoint, type EndpointDoc } from '../src/endpoints/model';
import type { Logger } from '../src/logger';
import { circuitTransitions } from '../src/metrics';
import { emitOperationalEvent } from '../src/operational/events';

export interface EndpointRef {
  projectId: string;
  endpointId: string;
}

const DRAIN_PAGE = 100;

async function consumerOf(endpointId: string): Promise<string | null> {
  const e = await Endpoint.collection.findOne({ _id: endpointId } as never, {
    projection: { consumer_id: 1 },
  });
  return (e?.consumer_id as string | null | undefined) ?? null;
}

export function createEndpointHealthActivities(temporal: TemporalTarget, logger: Logger) {
  /** Signals a waiting delivery to go on; false if its workflow is gone (cancelled, finished, terminated). */
  const release = async (held: HeldDeliveryDoc): Promise<boolean> => {
    try {
      await temporal.client.workflow.getHandle(held.workflow_id).signal(Signals.release);
      return true;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      await HeldDelivery.collection.deleteOne({ _id: held._id } as never);
      return false;
    }
  };

  return {
    /** Half-opens the breaker and lets its oldest waiting delivery make the probe; null if none waits. */
    async startProbe({ projectId, endpointId }: EndpointRef): Promise<string | null> {
      for (const held of await HeldDelivery.find({ endpoint_id: endpointId })
        .sort({ _id: 1 })
        .limit(10)
        .lean()) {
        const now = new Date();
        await writeHealth(endpointId, projectId, {
          state: 'half_open',
          since: now,
          last_probe_at: now,
          probe_delivery_id: held._id,
          next_probe_at: null,
        });
        if (await release(held)) {
          circuitTransitions.inc({ state: 'half_open' });
          return held._id;
        }
      }
      return null;
    },

    async reopenCircuit({ projectId, endpointId, nextProbeAt }: EndpointRef & { nextProbeAt: string }) {
      await writeHealth(endpointId, projectId, {
        state: 'open',
        since: new Date(),
        last_probe_ok: false,
        next_probe_at: new Date(nextProbeAt),
        probe_delivery_id: null,
      });
      circuitTransitions.inc({ state: 'open' });
    },

    /** Tells the operational endpoints the breaker opened (once per opening). */
    async announceCircuitOpened({ projectId, endpointId, openedAt }: EndpointRef & { openedAt: string }) {
      await emitOperationalEvent(
        temporal,
        projectId,
        'endpoint.circuit_opened',
        { endpoint_id: endpointId, consumer_id: await consumerOf(endpointId), opened_at: openedAt },
        `${endpointId}:${openedAt}`,
      );
    },

    async closeCircuit({ projectId, endpointId, probed }: EndpointRef & { probed: boolean }) {
      const health = await readHealth(endpointId);
      if (!health || health.state === 'closed') return;
      const openedAt = health.opened_at?.toISOString() ?? null;
      await writeHealth(endpointId, projectId, {
        state: 'closed',
        since: new Date(),
        opened_at: null,
        next_probe_at: null,
        probe_delivery_id: null,
        ...(probed ? { last_probe_ok: true } : {}),
      });
      circuitTransitions.inc({ state: 'closed' });
      logger.info({ project_id: projectId, endpoint_id: endpointId }, 'circuit closed');
      await emitOperationalEvent(
        temporal,
        projectId,
        'endpoint.circuit_closed',
        {
          endpoint_id: endpointId,
          consumer_id: await consumerOf(endpointId),
          opened_at: openedAt,
          closed_by: probed ? 'probe' : 'resume',
        },
        `${endpointId}:${openedAt}`,
      );
    },

    /** The endpoint's settings the workflow needs, read afresh (null: deleted). */
    async endpointSettings({ projectId, endpointId }: EndpointRef) {
      const e = (await Endpoint.collection.findOne({
        _id: endpointId,
        project_id: projectId,
      } as never)) as EndpointDoc | null;
      if (!e) return null;
      return { status: e.status, timeoutMs: e.timeout_ms, circuitBreaker: e.circuit_breaker ?? {} };
    },

    async disableEndpoint({
      projectId,
      endpointId,
      reason,
      openedAt,
    }: EndpointRef & { reason: string; openedAt: string }) {
      await Endpoint.updateOne(
        { _id: endpointId, project_id: projectId, status: 'active' },
        { $set: { status: 'disabled', disabled_reason: reason } },
      );
      logger.warn({ project_id: projectId, endpoint_id: endpointId, reason }, 'endpoint disabled');
      await emitOperationalEvent(
        temporal,
        projectId,
        'endpoint.disabled',
        {
          endpoint_id: endpointId,
          consumer_id: await consumerOf(endpointId),
          reason,
          trigger: 'circuit_breaker',
        },
        `${endpointId}:${openedAt}`,
      );
    },

    /**
     * Lets the endpoint's waiting deliveries go, oldest first, at the endpoint's rate limit (or
     * DEFAULT_DRAIN_PER_S); stops if the breaker opens again or the endpoint is no longer active.
     * Heartbeats as it goes; a retry starts over from what is still waiting.
     */
    async drainHeld({ endpointId }: EndpointRef): Promise<number> {
      let released = 0;
      // Each delivery removes its own entry once it goes on; one held again keeps its place.
      let after = '';
      for (;;) {
        const [endpoint, health] = await Promise.all([
          Endpoint.collection.findOne({ _id: endpointId } as never),
          readHealth(endpointId),
        ]);
        const e = endpoint as EndpointDoc | null;
        if (e && (e.status !== 'active' || (health && health.state !== 'closed'))) return released;
        const page = await HeldDelivery.find({ endpoint_id: endpointId, _id: { $gt: after } })
          .sort({ _id: 1 })
          .limit(DRAIN_PAGE)
          .lean();
        if (page.length === 0) return released;
        const gapMs = 1000 / (e?.rate_limit_per_s ?? DEFAULT_DRAIN_PER_S);
        for (const held of page) {
          const started = Date.now();
          if (await release(held)) released++;
          after = held._id;
          Context.current().heartbeat(released);
          const rest = gapMs - (Date.now() - started);
          if (rest > 0) await new Promise((r) => setTimeout(r, rest));
        }
      }
    },
  };
}

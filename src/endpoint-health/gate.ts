// What an attempt passes before it may begin: the endpoint is active, its breaker lets it through, it has a
// rate slot and a place in flight. A delivery that may not go yet is held (HoldDetails): it waits in its
// workflow, and waiting is no attempt. After the request, the outcome feeds the breaker.
import type { Client } from '@temporalio/client';
import type { HoldDetails } from '../delivery-contract';
import { Endpoint, type EndpointDoc } from '../endpoints/model';
import { holds } from '../metrics';
import { holdDelivery, openCircuit, readHealth, unholdDelivery } from './circuit';
import { FailureWindows } from './failure-window';
import { InFlightLimiter, RateLimiter } from './limiter';
import type { EndpointHealthDoc, HoldReason } from './model';
import { DEFAULT_BREAKER, rateBurst } from './settings';

/** Longest wait an attempt spends inside its activity; a longer one is a hold in the workflow. */
export const WAIT_IN_ATTEMPT_MS = 2_000;
/** How much earlier than its rate slot a held delivery's workflow wakes it, for timer and task delays. */
const WAKE_EARLY_MS = 1_500;
/** How long a delivery waiting for its endpoint sleeps before it looks again, if nobody released it. */
export const RELEASE_SAFETY_MS = 60 * 60_000;
/** A delivery that found no place in flight looks again after this. */
const IN_FLIGHT_RETRY_MS = 1_000;
/** Room left for the time between a request leaving and reaching its receiver (a connection, a busy loop). */
const TRANSIT_MARGIN_MS = 50;
/** A lease outlives the request by this much before another worker may take it back. */
const LEASE_MARGIN_MS = 30_000;

/** Thrown by `pass`: the delivery waits instead of making its attempt. */
export class HeldError extends Error {
  constructor(readonly hold: HoldDetails) {
    super(`held: ${hold.reason}`);
  }
}

export interface GateRequest {
  deliveryId: string;
  projectId: string;
  workflowId: string;
  endpoint: EndpointDoc;
  health: EndpointHealthDoc | null;
  /** Identifies this execution of the attempt (the lease's holder). */
  attemptKey: string;
  scheduleAttempt: number;
  /** What held the delivery before this schedule (its claimed rate slot is its turn). */
  heldBy: HoldDetails | null;
}

export interface Passage {
  /** This attempt is the probe of a half-open breaker. */
  probe: boolean;
  /**
   * Waits for the request's rate slot, right before the request; a hold if the slot went by meanwhile and the
   * next free one is too far off (the attempt is then abandoned: it made no request).
   */
  ready(): Promise<HoldDetails | null>;
  /** Frees the place in flight, once the request is over. */
  done(): Promise<void>;
}

export class EndpointGate {
  private readonly rates = new RateLimiter();
  private readonly inFlight = new InFlightLimiter();
  private readonly windows = new FailureWindows();

  constructor(private readonly temporal: { client: Client; taskQueue: string }) {}

  async pass(req: GateRequest): Promise<Passage> {
    const { endpoint } = req;
    const delivery = {
      deliveryId: req.deliveryId,
      projectId: req.projectId,
      endpointId: endpoint._id,
      workflowId: req.workflowId,
    };
    // A hold is written before it is rechecked: a release that read the waiting deliveries before the write
    // happened after the recheck's read, so a delivery never waits for a release that already went by.
    const mustWait = (
      e: Pick<EndpointDoc, 'status'> | null,
      h: EndpointHealthDoc | null,
    ): HoldReason | null => {
      if (e && e.status !== 'active') return e.status === 'paused' ? 'endpoint_paused' : 'endpoint_disabled';
      if (h && h.state !== 'closed' && !(h.state === 'half_open' && h.probe_delivery_id === req.deliveryId))
        return 'circuit_open';
      return null;
    };
    let waitingFor = mustWait(endpoint, req.health);
    if (waitingFor) {
      await holdDelivery(delivery, waitingFor);
      const [e, h] = await Promise.all([
        Endpoint.collection.findOne({ _id: endpoint._id } as never, { projection: { status: 1 } }),
        readHealth(endpoint._id),
      ]);
      waitingFor = mustWait(e as Pick<EndpointDoc, 'status'> | null, h);
      if (waitingFor) throw this.held(req, { reason: waitingFor, waitMs: RELEASE_SAFETY_MS, slotAt: null });
      await unholdDelivery(req.deliveryId);
    }
    const probe = req.health?.state === 'half_open' && req.health.probe_delivery_id === req.deliveryId;
    const wasHeld = req.heldBy && !['rate_limited', 'in_flight'].includes(req.heldBy.reason);
    if (wasHeld || probe) await unholdDelivery(req.deliveryId);

    let sendAt = 0;
    const rate = endpoint.rate_limit_per_s;
    if (rate) {
      // A delivery woken late for the slot it claimed takes a new one: two requests never share a slot.
      const reserved = req.scheduleAttempt === 1 ? req.heldBy?.slotAt : null;
      sendAt =
        reserved && reserved > Date.now() - 1000 / rate
          ? reserved
          : await this.rates.claim(endpoint._id, rate);
      const waitMs = sendAt - Date.now();
      // The workflow wakes it early: the last stretch is waited here, to the millisecond.
      if (waitMs > WAIT_IN_ATTEMPT_MS)
        throw this.held(req, { reason: 'rate_limited', waitMs: waitMs - WAKE_EARLY_MS, slotAt: sendAt });
    }
    let lease: string | null = null;
    if (endpoint.max_in_flight) {
      lease = await this.inFlight.acquire(
        endpoint._id,
        endpoint.max_in_flight,
        req.attemptKey,
        endpoint.timeout_ms + LEASE_MARGIN_MS,
        WAIT_IN_ATTEMPT_MS,
      );
      if (!lease) throw this.held(req, { reason: 'in_flight', waitMs: IN_FLIGHT_RETRY_MS, slotAt: null });
    }
    // Late by up to (burst - 1) slots, less what the request's own transit may add on the way.
    const lateness = rate ? Math.max(0, ((rateBurst(rate) - 1) * 1000) / rate - TRANSIT_MARGIN_MS) : 0;
    return {
      probe,
      ready: async () => {
        if (!rate) return null;
        // A request later than its slot by more than the burst allows would crowd the next ones: it takes
        // a new slot instead.
        if (Date.now() - sendAt > lateness) {
          sendAt = await this.rates.claim(endpoint._id, rate);
          const waitMs = sendAt - Date.now();
          if (waitMs > WAIT_IN_ATTEMPT_MS) {
            holds.inc({ reason: 'rate_limited' });
            return {
              reason: 'rate_limited',
              waitMs: waitMs - WAKE_EARLY_MS,
              slotAt: sendAt,
              scheduleAttempt: req.scheduleAttempt,
            };
          }
        }
        const waitMs = sendAt - Date.now();
        if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
        return null;
      },
      done: async () => {
        if (lease) await this.inFlight.release(lease, req.attemptKey).catch(() => {});
      },
    };
  }

  /**
   * Feeds an attempt's outcome to the breaker; opens it when the endpoint keeps failing. A probe's outcome
   * is its health workflow's to judge, not the window's.
   */
  async record(endpoint: EndpointDoc, health: EndpointHealthDoc | null, failed: boolean): Promise<void> {
    const settings = { ...DEFAULT_BREAKER, ...endpoint.circuit_breaker };
    const closedSince = health?.state === 'closed' ? health.since.getTime() : 0;
    if (!this.windows.record(endpoint._id, Date.now(), failed, settings, closedSince)) return;
    this.windows.clear(endpoint._id);
    await openCircuit(this.temporal.client, this.temporal.taskQueue, endpoint._id, endpoint.project_id);
  }

  private held(req: GateRequest, hold: Omit<HoldDetails, 'scheduleAttempt'>): HeldError {
    holds.inc({ reason: hold.reason });
    return new HeldError({ ...hold, scheduleAttempt: req.scheduleAttempt });
  }
}

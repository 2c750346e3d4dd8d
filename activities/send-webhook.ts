// One attempt of a delivery, and with the activity's retry policy the attempts after it: begin the attempt on
// the view, make the request, record what came of it.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { findOwned } from '../src/db';
import { deliveryAttributes, type TemporalTarget } from '../src/deliveries/start';
import { statusAfterAttempt } from '../src/deliveries/status';
import { abandonAttempt, beginAttempt, finishAttempt, ViewConflictError } from '../src/deliveries/view';
import {
  type AttemptFailureDetails,
  deliveryWorkflowId,
  endpointHealthWorkflowId,
  FailureTypes,
  type HoldDetails,
  isOperationalEndpoint,
  type ProbeResult,
  type SendWebhookInput,
  type SendWebhookResult,
  Signals,
} from '../src/delivery-contract';
import { holdDelivery, readHealthOf } from '../src/endpoint-health/circuit';
import { type EndpointGate, HeldError, RELEASE_SAFETY_MS } from '../src/endpoint-health/gate';
import { Endpoint } from '../src/endpoints/model';
import { createEventReader } from '../src/events/reader';
import type { Logger } from '../src/logger';
import { attemptDuration, attempts, deliveryTransitions, viewConflicts } from '../src/metrics';
import { backoffMs, retryAfterDelayMs } from '../src/retry-schedule';
import type { StatsRecorder } from '../src/stats/recorder';
import { annotateSpan } from '../src/tracing';
import { outcomeClass, type RequestOutcome, verdictOf } from './classify';
import { OAuthTokens } from './oauth-tokens';
import { type RequestDeps, type SendableEvent, sendWebhookRequest, tokenFetcher } from './webhook-request';

/** Non-retryable: the workflow waits, then makes the held attempt anew. */
function heldFailure(hold: HoldDetails): ApplicationFailure {
  return ApplicationFailure.create({
    message: `held back: ${hold.reason}`,
    type: FailureTypes.held,
    nonRetryable: true,
    details: [hold],
  });
}

/** Tells the endpoint's health workflow how its probe went. */
async function reportProbe(temporal: TemporalTarget, endpointId: string, deliveryId: string, ok: boolean) {
  await temporal.client.workflow
    .getHandle(endpointHealthWorkflowId(endpointId))
    .signal<[ProbeResult]>(Signals.probeResult, { deliveryId, ok });
}

export interface SendWebhookDeps extends RequestDeps {
  logger: Logger;
  gate: EndpointGate;
  stats: StatsRecorder;
  temporal: TemporalTarget;
}

export function createSendWebhook(deps: SendWebhookDeps) {
  const { logger, gate } = deps;
  const readEvent = createEventReader();
  const tokens = new OAuthTokens(tokenFetcher(deps));
  return async function sendWebhook(input: SendWebhookInput): Promise<SendWebhookResult> {
    const info = Context.current().info;
    const runId = info.workflowExecution?.runId ?? 'standalone';
    // A local activity (the first attempt) runs again under the same id and attempt number when its workflow
    // task is retried after a worker died: each execution gets its own key, so a rerun counts as a new attempt
    // and the interrupted one is recorded as lost, as for a regular activity's next attempt.
    const attemptKey = info.isLocal
      ? `${runId}:local:${randomUUID()}`
      : `${runId}:${info.activityId}:${info.attempt}`;

    annotateSpan(() =>
      deliveryAttributes({
        _id: input.deliveryId,
        project_id: input.projectId,
        endpoint_id: input.endpointId,
        event_id: input.eventId,
      }),
    );
    // Pass the endpoint's gate: its status, breaker and limits may hold the delivery back, which is no attempt.
    const workflowId = deliveryWorkflowId(input.deliveryId);
    const endpoint = await findOwned(Endpoint, input.endpointId, input.projectId);
    const health = endpoint ? await readHealthOf(endpoint) : null;
    const passage = endpoint
      ? await gate
          .pass({
            deliveryId: input.deliveryId,
            projectId: input.projectId,
            workflowId,
            endpoint,
            health,
            attemptKey,
            scheduleAttempt: info.attempt,
            heldBy: input.heldBy,
          })
          .catch((err) => {
            if (err instanceof HeldError) throw heldFailure(err.hold);
            throw err;
          })
      : null;

    // Begin: count the attempt on the view (storing the view if the API has not yet), and read the event
    // meanwhile.
    const newView = {
      _id: input.deliveryId,
      project_id: input.projectId,
      endpoint_id: input.endpointId,
      event_id: input.eventId,
      workflow_id: workflowId,
      ...input.view,
    };
    const [began, event] = await Promise.all([
      beginAttempt(input.deliveryId, runId, attemptKey, newView).catch((err) => {
        if (!(err instanceof ViewConflictError)) throw err;
        // Loud, and retried as an attempt that could not be made: never a reason to end the delivery.
        viewConflicts.inc();
        logger.error(
          { delivery_id: input.deliveryId, attempt_key: attemptKey, err },
          'delivery view conflict',
        );
        throw ApplicationFailure.retryable(err.message, FailureTypes.viewConflict);
      }),
      readEvent(input.eventId, input.projectId),
    ]).catch(async (err) => {
      await passage?.done();
      throw err;
    });
    if (began === 'cancelled') {
      await passage?.done();
      throw ApplicationFailure.nonRetryable('delivery cancelled', FailureTypes.deliveryCancelled);
    }
    const { view: delivery, attempt } = began;

    // Request, in its rate slot.
    const slotMissed = await passage?.ready();
    if (slotMissed) {
      await Promise.all([abandonAttempt(input.deliveryId, runId, attemptKey, delivery), passage?.done()]);
      throw heldFailure(slotMissed);
    }
    const startedAt = new Date();
    // An expunged payload is never sent again: its deliveries end as if the event were gone.
    const sendable = event?.payload_json != null ? (event as SendableEvent) : null;
    const outcome: RequestOutcome =
      endpoint && sendable
        ? await sendWebhookRequest({ ...deps, tokens }, endpoint, sendable, delivery, attempt, startedAt)
        : {
            statusCode: null,
            error: null,
            errorMessage: !endpoint
              ? 'endpoint was deleted'
              : event
                ? 'the event payload was expunged'
                : 'event was deleted',
            response: null,
            retryAfter: undefined,
            durationMs: 0,
          };
    const verdict = endpoint && sendable ? verdictOf(outcome) : { kind: 'fail' as const };
    await passage?.done();
    // A probe's outcome is the health workflow's to judge; any other attempt's feeds the breaker.
    const probeFailed = passage?.probe === true && verdict.kind === 'retry';
    if (endpoint && sendable && passage) {
      if (passage.probe)
        await reportProbe(deps.temporal, endpoint._id, input.deliveryId, !probeFailed).catch((err) => {
          // Its health workflow probes again once its wait for this answer runs out.
          logger.warn({ endpoint_id: endpoint._id, err }, 'a probe result could not be reported');
        });
      // Operational endpoints have no breaker: their failures would raise operational events about themselves.
      else if (!isOperationalEndpoint(endpoint._id))
        await gate.record(endpoint, health, verdict.kind === 'retry').catch((err) => {
          // The attempt stands; the next failure tries to open the breaker again.
          logger.error({ endpoint_id: endpoint._id, err }, 'the circuit breaker could not be opened');
        });
    }

    // Record. A failed probe does not use up the delivery's attempts: it waits for the breaker again.
    const lastAttempt = input.finalSchedule && info.attempt >= input.scheduleAttempts && !probeFailed;
    const status = statusAfterAttempt(verdict, lastAttempt);
    const retryAfterMs =
      verdict.kind === 'retry' && verdict.retryAfterMs !== null
        ? retryAfterDelayMs(input.retry, verdict.retryAfterMs)
        : null;
    const delayMs = retryAfterMs ?? backoffMs(input.retry, input.attemptsBefore + info.attempt);
    const error =
      outcome.errorMessage ??
      (outcome.statusCode !== null && verdict.kind !== 'success' ? `HTTP ${outcome.statusCode}` : null);
    const outcomeLabel = outcomeClass(outcome.statusCode, outcome.error);
    await finishAttempt({
      deliveryId: delivery._id,
      runId,
      attemptKey,
      status,
      nextAttemptAt: status === 'retrying' && !probeFailed ? new Date(Date.now() + delayMs) : null,
      attempt: {
        project_id: delivery.project_id,
        endpoint_id: delivery.endpoint_id,
        event_id: delivery.event_id,
        attempt,
        url: endpoint?.url ?? delivery.url,
        status: status === 'succeeded' ? 'succeeded' : 'failed',
        outcome: outcomeLabel,
        status_code: outcome.statusCode,
        error,
        response: outcome.response,
        duration_ms: outcome.durationMs,
        started_at: startedAt,
      },
    });
    // Counted before the activity completes: figures the API shows are never lost with a worker.
    const where = { projectId: delivery.project_id, endpointId: delivery.endpoint_id };
    await Promise.all([
      deps.stats.recordAttempt(where, status === 'succeeded', outcome.durationMs),
      status === 'succeeded' || status === 'failed' ? deps.stats.recordFinal(where, status) : null,
    ]);
    attempts.inc({ outcome: outcomeLabel });
    attemptDuration.observe({ outcome: outcomeLabel }, outcome.durationMs / 1000);
    deliveryTransitions.inc({ status, trigger: delivery.trigger });
    logger.info(
      {
        project_id: delivery.project_id,
        delivery_id: delivery._id,
        endpoint_id: delivery.endpoint_id,
        event_id: delivery.event_id,
        attempt,
        status_code: outcome.statusCode,
        status,
      },
      'attempt finished',
    );
    if (verdict.kind === 'gone') {
      await Endpoint.updateOne(
        { _id: delivery.endpoint_id, project_id: delivery.project_id },
        { $set: { status: 'disabled', disabled_reason: 'receiver answered 410 Gone' } },
      );
    }

    if (status === 'succeeded') return { attempt, statusCode: outcome.statusCode ?? 0 };
    if (probeFailed) {
      await holdDelivery(
        {
          deliveryId: delivery._id,
          projectId: delivery.project_id,
          endpointId: delivery.endpoint_id,
          workflowId,
        },
        'circuit_open',
      );
      throw heldFailure({
        reason: 'circuit_open',
        waitMs: RELEASE_SAFETY_MS,
        scheduleAttempt: info.attempt,
        slotAt: null,
      });
    }
    if (status === 'failed') {
      throw ApplicationFailure.nonRetryable(error ?? 'delivery failed', FailureTypes.deliveryFailed);
    }
    const details: AttemptFailureDetails = { scheduleAttempt: info.attempt, retryAfterMs };
    // Recorded so that a workflow cancelling this schedule in its backoff (retryNow) learns how far it got.
    // A local activity has no backoff of its own (and cannot heartbeat).
    if (!info.isLocal) Context.current().heartbeat(details);
    throw ApplicationFailure.create({
      message: error ?? 'attempt failed',
      type: FailureTypes.attemptFailed,
      details: [details],
      nextRetryDelay: retryAfterMs ?? undefined,
    });
  };
}

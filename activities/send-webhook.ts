import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { type Dispatcher, request } from 'undici';
import { findOwned } from '../src/db';
import type { DeliveryDoc } from '../src/deliveries/model';
import { beginAttempt, finishAttempt, ViewConflictError } from '../src/deliveries/view';
import {
  type AttemptFailureDetails,
  deliveryWorkflowId,
  FailureTypes,
  type SendWebhookInput,
  type SendWebhookResult,
} from '../src/delivery-contract';
import { Endpoint, type EndpointDoc, signingSecrets } from '../src/endpoints/model';
import type { EventDoc } from '../src/events/model';
import { createEventReader } from '../src/events/reader';
import type { Logger } from '../src/logger';
import { attemptDuration, attempts, deliveryTransitions, viewConflicts } from '../src/metrics';
import { backoffMs, retryAfterDelayMs } from '../src/retry-schedule';
import { signatureHeader } from '../src/signing';
import { BlockedTargetError, isPublicAddress, urlHost } from '../src/target-policy';
import { classifyStatus, outcomeClass, type Verdict } from './classify';

export const USER_AGENT = `hookflow/${process.env.npm_package_version ?? '0.1.0'}`;
/** Bytes of a receiver's answer kept on the attempt and the view; the rest is read no further. */
export const RESPONSE_EXCERPT_BYTES = 4096;

/** Headers that neither endpoint settings nor event headers may set. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'hookflow-event-type',
  'hookflow-delivery-id',
  'hookflow-attempt',
  'hookflow-replay-of',
]);

export interface SendWebhookDeps {
  dispatcher: Dispatcher;
  logger: Logger;
  allowPrivateTargets: boolean;
}

interface HttpOutcome {
  statusCode: number | null;
  error: 'timeout' | 'network' | 'blocked' | null;
  errorMessage: string | null;
  response: string | null;
  retryAfter: string | undefined;
  durationMs: number;
}

export function createSendWebhook({ dispatcher, logger, allowPrivateTargets }: SendWebhookDeps) {
  const readEvent = createEventReader();
  return async function sendWebhook(input: SendWebhookInput): Promise<SendWebhookResult> {
    const info = Context.current().info;
    const runId = info.workflowExecution?.runId ?? 'standalone';
    // A local activity (the first attempt) runs again under the same id and attempt number when its workflow
    // task is retried after a worker died: each execution gets its own key, so a rerun counts as a new attempt
    // and the interrupted one is recorded as lost, as for a regular activity's next attempt.
    const attemptKey = info.isLocal
      ? `${runId}:local:${randomUUID()}`
      : `${runId}:${info.activityId}:${info.attempt}`;
    // The endpoint and event are read alongside the begin write: one MongoDB round trip less before the
    // request. Schedules recorded before the workflow passed their ids read them after, from the view.
    const { projectId, endpointId, eventId } = input;
    const known = projectId && endpointId && eventId ? { projectId, endpointId, eventId } : null;
    const seed =
      known && input.view
        ? {
            _id: input.deliveryId,
            project_id: known.projectId,
            endpoint_id: known.endpointId,
            event_id: known.eventId,
            workflow_id: deliveryWorkflowId(input.deliveryId),
            ...input.view,
          }
        : undefined;
    const [begun, endpointKnown, eventKnown] = await Promise.all([
      beginAttempt(input.deliveryId, runId, attemptKey, seed).catch((err) => {
        if (!(err instanceof ViewConflictError)) throw err;
        // Loud, and retried as an attempt that could not be made: never a reason to end the delivery.
        viewConflicts.inc();
        logger.error(
          { delivery_id: input.deliveryId, attempt_key: attemptKey, err },
          'delivery view conflict',
        );
        throw ApplicationFailure.retryable(err.message, FailureTypes.viewConflict);
      }),
      known && findOwned(Endpoint, known.endpointId, known.projectId),
      known && readEvent(known.eventId, known.projectId),
    ]);
    if (begun === 'cancelled')
      throw ApplicationFailure.nonRetryable('delivery cancelled', FailureTypes.deliveryCancelled);
    const { view: delivery, attempt } = begun;
    const [endpoint, event] = known
      ? [endpointKnown, eventKnown]
      : await Promise.all([
          findOwned(Endpoint, delivery.endpoint_id, delivery.project_id),
          readEvent(delivery.event_id, delivery.project_id),
        ]);

    const startedAt = new Date();
    let outcome: HttpOutcome;
    let verdict: Verdict;
    if (!endpoint || !event) {
      const what = endpoint ? 'event' : 'endpoint';
      outcome = {
        statusCode: null,
        error: null,
        errorMessage: `${what} was deleted`,
        response: null,
        retryAfter: undefined,
        durationMs: 0,
      };
      verdict = { kind: 'fail' };
    } else {
      const headers = requestHeaders(endpoint, event, delivery, attempt, startedAt);
      outcome = await post(
        dispatcher,
        endpoint.url,
        headers,
        event.payload_json,
        endpoint.timeout_ms,
        allowPrivateTargets,
      );
      verdict = judge(outcome);
    }

    const lastInSchedule = info.attempt >= input.scheduleAttempts;
    const exhausted = verdict.kind === 'retry' && lastInSchedule && input.finalSchedule;
    const status =
      verdict.kind === 'success'
        ? 'succeeded'
        : verdict.kind === 'retry' && !exhausted
          ? 'retrying'
          : 'failed';
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
      nextAttemptAt: status === 'retrying' ? new Date(Date.now() + delayMs) : null,
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

/** The outgoing headers: the endpoint's and the event's own, then ours, which they cannot override. */
function requestHeaders(
  endpoint: EndpointDoc,
  event: EventDoc,
  delivery: DeliveryDoc,
  attempt: number,
  at: Date,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of [
    ...Object.entries(endpoint.headers ?? {}),
    ...Object.entries(event.headers ?? {}),
  ]) {
    if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  const timestamp = Math.floor(at.getTime() / 1000);
  Object.assign(headers, {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': event._id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(
      signingSecrets(endpoint, at),
      event._id,
      timestamp,
      event.payload_json,
    ),
    'hookflow-event-type': event.event_type,
    'hookflow-delivery-id': delivery._id,
    'hookflow-attempt': String(attempt),
  });
  if (delivery.replay_of_delivery_id) headers['hookflow-replay-of'] = delivery.replay_of_delivery_id;
  return headers;
}

function judge(outcome: HttpOutcome): Verdict {
  // A blocked target is a setting to change, not a passing fault: fail at once.
  if (outcome.error === 'blocked') return { kind: 'fail' };
  if (outcome.statusCode === null) return { kind: 'retry', retryAfterMs: null };
  return classifyStatus(outcome.statusCode, outcome.retryAfter);
}

async function post(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  allowPrivateTargets: boolean,
): Promise<HttpOutcome> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    // Names are checked by the dispatcher's guarded lookup; an address in the URL never goes through it.
    const host = urlHost(url);
    if (!allowPrivateTargets && isIP(host) && !isPublicAddress(host))
      throw new BlockedTargetError(host, host);
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      dispatcher,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const response = await readExcerpt(res.body);
    const retryAfter = res.headers['retry-after'];
    return {
      statusCode: res.statusCode,
      error: null,
      errorMessage: null,
      response,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    const blocked = [err, (err as { cause?: unknown }).cause].find((e) => e instanceof BlockedTargetError);
    if (blocked) {
      return {
        statusCode: null,
        error: 'blocked',
        errorMessage: `blocked by the SSRF guard: ${(blocked as Error).message}`,
        response: null,
        retryAfter: undefined,
        durationMs: 0,
      };
    }
    const timedOut = signal.aborted || (err as { code?: string }).code?.includes('TIMEOUT') === true;
    return {
      statusCode: null,
      error: timedOut ? 'timeout' : 'network',
      errorMessage: timedOut ? `timed out after ${timeoutMs} ms` : `network error: ${(err as Error).message}`,
      response: null,
      retryAfter: undefined,
      durationMs: Math.round(performance.now() - started),
    };
  }
}

/** Reads at most RESPONSE_EXCERPT_BYTES of the body, then drops the connection's remaining bytes. */
async function readExcerpt(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= RESPONSE_EXCERPT_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
}

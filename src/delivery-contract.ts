// What the API, the delivery workflow and its activities agree on. Imported by workflow code, so it must stay
// free of I/O and of anything non-deterministic.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DeliveryStatus } from './deliveries/status';
import type { RetrySettings } from './retry-schedule';

/** What the view's `last_error` says of a cancel requested through Temporal (Web UI, CLI, API). */
export const TEMPORAL_CANCEL_ERROR = 'cancelled in Temporal (workflow cancellation request)';

export const DELIVERY_TRIGGERS = ['initial', 'replay', 'resend', 'recover'] as const;
export type DeliveryTrigger = (typeof DELIVERY_TRIGGERS)[number];

export const TASK_QUEUE_DEFAULT = 'hookflow-deliveries';

export function deliveryWorkflowId(deliveryId: string): string {
  return `delivery-${deliveryId}`;
}

/** Operational endpoints (ids oep_...) receive hookflow's own events; their deliveries raise none. */
export function isOperationalEndpoint(endpointId: string): boolean {
  return endpointId.startsWith('oep_');
}

/** The workflow that probes an endpoint's open circuit breaker and lets its waiting deliveries go. */
export function endpointHealthWorkflowId(endpointId: string): string {
  return `endpoint-health-${endpointId}`;
}

export const SearchAttributes = {
  projectId: defineSearchAttributeKey('HookflowProjectId', SearchAttributeType.KEYWORD),
  endpointId: defineSearchAttributeKey('HookflowEndpointId', SearchAttributeType.KEYWORD),
  eventType: defineSearchAttributeKey('HookflowEventType', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('HookflowDeliveryStatus', SearchAttributeType.KEYWORD),
  /** Set on the deliveries of a consumer's endpoints only. */
  consumerId: defineSearchAttributeKey('HookflowConsumerId', SearchAttributeType.KEYWORD),
  /** On an endpoint's health workflow: open, half_open, closed (draining) or disabled. */
  circuitState: defineSearchAttributeKey('HookflowCircuitState', SearchAttributeType.KEYWORD),
};

/**
 * A delivery's status as Temporal shows it. HookflowDeliveryStatus follows the status while the workflow runs
 * and is set to `failed` or `cancelled` when it ends so; a delivery that succeeds leaves it as it was (an
 * upsert is a billable action of its own), so a Completed workflow without `failed` or `cancelled` succeeded.
 * The visibility queries of each final status are QUERY_BY_STATUS.
 */
export function statusInTemporal(
  executionStatus: string,
  searchAttribute: string | undefined,
): string | undefined {
  const completed = executionStatus.toUpperCase() === 'COMPLETED';
  return completed && searchAttribute !== 'failed' && searchAttribute !== 'cancelled'
    ? 'succeeded'
    : searchAttribute;
}

/** Visibility queries for the final statuses (the others: `HookflowDeliveryStatus = '<status>'`). */
export const QUERY_BY_STATUS = {
  succeeded: "ExecutionStatus = 'Completed' AND HookflowDeliveryStatus NOT IN ('failed', 'cancelled')",
  failed: "HookflowDeliveryStatus = 'failed'",
  cancelled: "HookflowDeliveryStatus = 'cancelled'",
} as const;

/** Workflow input: ids and a snapshot of the retry settings, never secrets or the payload. */
export interface DeliveryWorkflowInput {
  deliveryId: string;
  projectId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  retry: RetrySettings;
  /** The endpoint's request timeout; bounds each attempt. */
  timeoutMs: number;
  /** How the first attempt of a run is made: a local activity inside the workflow task that starts the run. */
  firstAttempt: 'local';
  /** Published with deliver_at: the first attempt waits until then (ISO). */
  deliverAt?: string;
  /**
   * Since 4-actions: success leaves HookflowDeliveryStatus as it was (statusInTemporal). In the input rather
   * than behind a patch: a patch marker would add two history events to every delivery to save one.
   */
  successShownBy?: 'execution-status';
  /**
   * The rest of the delivery's view, so that its first attempt can store the view if the API has not yet: the
   * API starts a publish's workflows while it stores their views.
   */
  view: ViewFields;
}

/** A delivery view's fields beyond its ids (those are in the workflow and activity inputs already). */
export interface ViewFields {
  consumer_id: string | null;
  event_type: string;
  url: string;
  trigger: DeliveryTrigger;
  replay_of_delivery_id: string | null;
}

/** Input of one `sendWebhook` schedule (one Temporal activity with its own RetryPolicy). */
export interface SendWebhookInput {
  deliveryId: string;
  /** The delivery's owner, endpoint and event: the activity reads them while it begins the attempt. */
  projectId: string;
  endpointId: string;
  eventId: string;
  /** Passed on from the workflow input: the view to store if it is not there yet. */
  view: ViewFields;
  retry: RetrySettings;
  /** Attempts this workflow run made before this schedule started: the schedule's backoff starts there. */
  attemptsBefore: number;
  /** Whether running out of this schedule's attempts means the delivery failed for good. */
  finalSchedule: boolean;
  /** Attempts allowed in this schedule (the RetryPolicy's maximumAttempts). */
  scheduleAttempts: number;
  /** What held the delivery back before this schedule, if anything (a rate slot it claimed is its turn). */
  heldBy: HoldDetails | null;
}

export interface SendWebhookResult {
  attempt: number;
  statusCode: number;
}

/** ApplicationFailure types thrown by `sendWebhook`. */
export const FailureTypes = {
  /** Retryable attempt failure (5xx, 429, timeout, network...). */
  attemptFailed: 'AttemptFailed',
  /** The delivery is over: non-retryable answer or retries exhausted. The view already says `failed`. */
  deliveryFailed: 'DeliveryFailed',
  /** This run cancelled the delivery (a cancel request) before the attempt began. */
  deliveryCancelled: 'DeliveryCancelled',
  /** The view disagreed with the workflow, so the attempt did not begin: retried like a failed attempt. */
  viewConflict: 'ViewConflict',
  /** The endpoint's limits or health hold the delivery back: it waits, and that is no attempt. */
  held: 'Held',
} as const;

/**
 * Why a delivery waits and for how long at most: `rate_limited` and `in_flight` wait out `waitMs`; the others
 * wait to be released by the endpoint's health workflow (`waitMs` is only a safety net).
 */
export interface HoldDetails {
  reason: 'rate_limited' | 'in_flight' | 'circuit_open' | 'endpoint_paused' | 'endpoint_disabled';
  waitMs: number;
  /** The schedule's attempt that was held: the attempts before it were made. */
  scheduleAttempt: number;
  /** The start (ms since the epoch) of the rate slot claimed for the delivery's next request. */
  slotAt: number | null;
}

/** Signal names shared by the activities, the API and the workflows. */
export const Signals = {
  /** To a held delivery: go on (its endpoint's breaker closed or it was resumed). */
  release: 'release',
  /** To an endpoint's health workflow: its breaker opened (argument: when, ISO). */
  circuitOpened: 'circuitOpened',
  /** To an endpoint's health workflow: the endpoint was set active again. */
  resume: 'resume',
  /** To an endpoint's health workflow: how the probe went. */
  probeResult: 'probeResult',
} as const;

export interface ProbeResult {
  deliveryId: string;
  ok: boolean;
}

export interface EndpointHealthInput {
  projectId: string;
  endpointId: string;
  /** Carried over continue-as-new: when the breaker opened (ISO), and the probes that failed since. */
  openedAt?: string | null;
  failedProbes?: number;
}

/** Details carried by an AttemptFailed failure and by the activity's heartbeat. */
export interface AttemptFailureDetails {
  /** The attempt number within the schedule (Temporal's activity attempt). */
  scheduleAttempt: number;
  /** Delay the receiver asked for with Retry-After, already bounded. */
  retryAfterMs: number | null;
}

/** Live state returned by the workflow's `state` query. */
export interface DeliveryLiveState {
  status: DeliveryStatus;
  attemptsThisRun: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  /** Why the delivery waits for its endpoint, while it does. */
  heldBy?: HoldDetails['reason'] | null;
}

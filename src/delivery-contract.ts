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

export const SearchAttributes = {
  projectId: defineSearchAttributeKey('HookflowProjectId', SearchAttributeType.KEYWORD),
  endpointId: defineSearchAttributeKey('HookflowEndpointId', SearchAttributeType.KEYWORD),
  eventType: defineSearchAttributeKey('HookflowEventType', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('HookflowDeliveryStatus', SearchAttributeType.KEYWORD),
  /** Set on the deliveries of a consumer's endpoints only. */
  consumerId: defineSearchAttributeKey('HookflowConsumerId', SearchAttributeType.KEYWORD),
};

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
} as const;

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
}

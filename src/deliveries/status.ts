// The delivery status machine: the one place that says which statuses exist, which are final, what moves a
// delivery from one to the next, and what an attempt's verdict makes of it. Pure: the workflow imports it.
import type { Verdict } from '../../activities/classify';

export const DELIVERY_STATUSES = [
  'scheduled',
  'pending',
  'in_progress',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export type FinalStatus = Extract<DeliveryStatus, 'succeeded' | 'failed' | 'cancelled'>;

export const DELIVERY_EVENTS = [
  /** An attempt starts (again, after a lost one: its worker died mid-request). */
  'begin',
  /** The receiver accepted the attempt. */
  'succeed',
  /** The attempt failed and another will follow. */
  'retry',
  /** The delivery failed for good: a final answer, attempts used up, or attempts that never reported. */
  'fail',
  /** Someone asked to cancel (REST, signal, or Temporal's own cancellation). */
  'cancel',
  /** Someone asked to skip the backoff (or a scheduled delivery's wait) and attempt now. */
  'retryNow',
] as const;
export type DeliveryEvent = (typeof DELIVERY_EVENTS)[number];

/** Within one workflow run. A run that starts over (a Temporal reset) starts from the view it finds. */
const TRANSITIONS: Record<DeliveryStatus, Partial<Record<DeliveryEvent, DeliveryStatus>>> = {
  // Published with deliver_at: waits until then (retry now ends the wait).
  scheduled: { begin: 'in_progress', retryNow: 'scheduled', fail: 'failed', cancel: 'cancelled' },
  pending: { begin: 'in_progress', fail: 'failed', cancel: 'cancelled' },
  in_progress: {
    begin: 'in_progress',
    succeed: 'succeeded',
    retry: 'retrying',
    fail: 'failed',
    cancel: 'cancelled',
  },
  retrying: { begin: 'in_progress', retryNow: 'retrying', fail: 'failed', cancel: 'cancelled' },
  succeeded: {},
  failed: {},
  cancelled: {},
};

/** The status `event` leads to from `from`, or null when the event is not allowed there. */
export function transition(from: DeliveryStatus, event: DeliveryEvent): DeliveryStatus | null {
  return TRANSITIONS[from][event] ?? null;
}

export function isFinal(status: DeliveryStatus): status is FinalStatus {
  return DELIVERY_EVENTS.every((event) => transition(status, event) === null);
}

export const FINAL_STATUSES: readonly DeliveryStatus[] = DELIVERY_STATUSES.filter(isFinal);

/** Why `event` is refused from `status`, in words for a 409; null when it is allowed. */
export function refusal(status: DeliveryStatus, event: 'cancel' | 'retryNow'): string | null {
  if (transition(status, event) !== null) return null;
  if (event === 'cancel') return `delivery is already ${status}`;
  return `only a retrying or scheduled delivery can be retried now; this one is ${status}`;
}

/**
 * What an attempt's verdict makes of an in-progress delivery: `lastAttempt` says that no attempt may follow
 * (the retry schedule is used up), which turns a retry into a failure.
 */
export function statusAfterAttempt(
  verdict: Verdict,
  lastAttempt: boolean,
): Extract<DeliveryStatus, 'succeeded' | 'retrying' | 'failed'> {
  const event: DeliveryEvent =
    verdict.kind === 'success' ? 'succeed' : verdict.kind === 'retry' && !lastAttempt ? 'retry' : 'fail';
  return transition('in_progress', event) as 'succeeded' | 'retrying' | 'failed';
}

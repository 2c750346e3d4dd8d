// Idempotent writes of the delivery view. Activities call these; a retried activity, a worker that died
// mid-write or a reset workflow run can repeat any of them without double-counting.
//
// Every write is filtered by `_id` alone, the one filter FerretDB serves from an index (any other filter
// makes it scan the collection), and the guards are checked on the document read just before. That is safe
// because a delivery has one writer at a time: its workflow runs one attempt after the other, and marks it
// cancelled or failed only once the attempt in flight has finished.
import { isDuplicateKeyError } from '../db';
import { derivedId } from '../ids';
import { type AttemptDoc, Delivery, DeliveryAttempt, type DeliveryDoc } from './model';

/** A cancelled view is final for the run that cancelled it; a later run (a reset) may deliver again. */
function cancelledBy(view: DeliveryDoc, runId: string): boolean {
  return view.status === 'cancelled' && view.run_id === runId;
}

/**
 * Marks the delivery in_progress and counts the attempt, once per `attemptKey`. Returns the attempt number
 * and the view as it was, or null when the delivery is gone or was cancelled.
 */
export async function beginAttempt(
  deliveryId: string,
  runId: string,
  attemptKey: string,
): Promise<{ attempt: number; view: DeliveryDoc } | null> {
  const view = await Delivery.findById(deliveryId).lean();
  if (!view || cancelledBy(view, runId)) return null;
  // Already counted: this is a repeat of a call whose answer was lost.
  if (view.last_attempt_key === attemptKey) return { attempt: view.attempts, view };
  // The previous attempt began but never finished: its worker died mid-request. Record it as lost, so
  // that the attempt documents always add up to the view's count.
  if (view.status === 'in_progress' && view.attempts > 0 && view.last_attempt_at) {
    await recordLostAttempt(view, view.attempts, view.last_attempt_at);
  }
  const attempt = (view.attempts ?? 0) + 1;
  await Delivery.updateOne(
    { _id: deliveryId },
    {
      $set: {
        status: 'in_progress',
        attempts: attempt,
        last_attempt_key: attemptKey,
        last_attempt_at: new Date(),
        next_attempt_at: null,
        run_id: runId,
      },
    },
  );
  return { attempt, view };
}

async function recordLostAttempt(delivery: DeliveryDoc, attempt: number, startedAt: Date): Promise<void> {
  await insertAttempt(delivery._id, {
    project_id: delivery.project_id,
    endpoint_id: delivery.endpoint_id,
    event_id: delivery.event_id,
    attempt,
    url: delivery.url,
    status: 'failed',
    outcome: 'lost',
    status_code: null,
    error: 'the worker stopped during the attempt',
    response: null,
    duration_ms: 0,
    started_at: startedAt,
  });
}

/** Stores an attempt document once; when it is already there (a repeated call), the first one stands. */
async function insertAttempt(deliveryId: string, attempt: AttemptRecord['attempt']): Promise<void> {
  try {
    await DeliveryAttempt.create({
      _id: derivedId('att', deliveryId, deliveryId, attempt.attempt),
      delivery_id: deliveryId,
      ...attempt,
    });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
}

export interface AttemptRecord {
  deliveryId: string;
  runId: string;
  attemptKey: string;
  attempt: Omit<AttemptDoc, '_id' | 'created_at' | 'delivery_id'>;
  status: 'succeeded' | 'retrying' | 'failed';
  nextAttemptAt: Date | null;
}

/** Stores the attempt document and the attempt's outcome on the view, both idempotently. */
export async function finishAttempt(record: AttemptRecord): Promise<void> {
  const { attempt } = record;
  const [, view] = await Promise.all([
    insertAttempt(record.deliveryId, attempt),
    Delivery.findById(record.deliveryId).lean(),
  ]);
  // Only the attempt that began last may write its outcome, and never over a cancel of this run.
  if (!view || view.last_attempt_key !== record.attemptKey || cancelledBy(view, record.runId)) return;
  await Delivery.updateOne(
    { _id: record.deliveryId },
    {
      $set: {
        status: record.status,
        next_attempt_at: record.nextAttemptAt,
        last_status_code: attempt.status_code,
        last_error: attempt.error,
        last_response: attempt.response,
        last_duration_ms: attempt.duration_ms,
        delivered_at: record.status === 'succeeded' ? new Date() : null,
        run_id: record.runId,
      },
    },
  );
}

/**
 * Final states the workflow decides on its own: cancelled, or failed when attempts never reported back.
 * Returns the view as it was when it changed it, null when there was nothing to change.
 */
export async function markFinal(
  deliveryId: string,
  runId: string,
  status: 'cancelled' | 'failed',
  error: string,
): Promise<DeliveryDoc | null> {
  const view = await Delivery.findById(deliveryId).lean();
  if (!view || view.status === 'succeeded') return null;
  if (status === 'failed' && (view.status === 'failed' || cancelledBy(view, runId))) return null;
  await Delivery.updateOne(
    { _id: deliveryId },
    { $set: { status, next_attempt_at: null, last_error: error, run_id: runId } },
  );
  return view;
}

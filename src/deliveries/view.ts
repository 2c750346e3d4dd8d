// Idempotent writes of the delivery view. Activities call these; a retried activity, a worker that died
// mid-write or a reset workflow run can repeat any of them without double-counting.
import type { QueryFilter } from 'mongoose';
import { derivedId } from '../ids';
import { type AttemptDoc, Delivery, DeliveryAttempt, type DeliveryDoc } from './model';

/** A cancelled view is final for the run that cancelled it; a later run (a reset) may deliver again. */
function notCancelledBy(runId: string): QueryFilter<DeliveryDoc> {
  return { $or: [{ status: { $ne: 'cancelled' } }, { run_id: { $ne: runId } }] };
}

/**
 * Marks the delivery in_progress and counts the attempt, once per `attemptKey`.
 * Returns the attempt number, or null when the delivery is gone or was cancelled.
 */
export async function beginAttempt(
  deliveryId: string,
  runId: string,
  attemptKey: string,
): Promise<number | null> {
  const now = new Date();
  const updated = await Delivery.findOneAndUpdate(
    { _id: deliveryId, last_attempt_key: { $ne: attemptKey }, ...notCancelledBy(runId) },
    {
      $inc: { attempts: 1 },
      $set: {
        status: 'in_progress',
        last_attempt_key: attemptKey,
        last_attempt_at: now,
        next_attempt_at: null,
        run_id: runId,
      },
    },
    // No projection: FerretDB v1 does not implement `fields` in findAndModify.
    { returnDocument: 'before' },
  ).lean();
  if (updated) {
    // The previous attempt began but never finished: its worker died mid-request. Record it as lost, so
    // that the attempt documents always add up to the view's count.
    if (updated.status === 'in_progress' && updated.attempts > 0 && updated.last_attempt_at) {
      await recordLostAttempt(updated, updated.attempts, updated.last_attempt_at);
    }
    return updated.attempts + 1;
  }
  // Either this attempt was already counted (a repeated write) or the delivery is cancelled or gone.
  const current = await Delivery.findById(deliveryId, { attempts: 1, last_attempt_key: 1, status: 1 }).lean();
  if (current && current.last_attempt_key === attemptKey && current.status !== 'cancelled')
    return current.attempts;
  return null;
}

async function recordLostAttempt(delivery: DeliveryDoc, attempt: number, startedAt: Date): Promise<void> {
  await DeliveryAttempt.updateOne(
    { _id: derivedId('att', delivery._id, delivery._id, attempt) },
    {
      // $setOnInsert: when the attempt did record itself (and only its view write was lost), that stands.
      $setOnInsert: {
        delivery_id: delivery._id,
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
      },
    },
    { upsert: true },
  );
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
  await DeliveryAttempt.updateOne(
    { _id: derivedId('att', record.deliveryId, record.deliveryId, attempt.attempt) },
    { $setOnInsert: { delivery_id: record.deliveryId, ...attempt } },
    { upsert: true },
  );
  const now = new Date();
  await Delivery.updateOne(
    // Only the attempt that last began may write its outcome, and never over a cancel of this run.
    { _id: record.deliveryId, last_attempt_key: record.attemptKey, ...notCancelledBy(record.runId) },
    {
      $set: {
        status: record.status,
        next_attempt_at: record.nextAttemptAt,
        last_status_code: attempt.status_code,
        last_error: attempt.error,
        last_response: attempt.response,
        last_duration_ms: attempt.duration_ms,
        delivered_at: record.status === 'succeeded' ? now : null,
        run_id: record.runId,
      },
    },
  );
}

/** Final states the workflow decides on its own: cancelled, or failed when attempts never reported back. */
export async function markFinal(
  deliveryId: string,
  runId: string,
  status: 'cancelled' | 'failed',
  error: string,
): Promise<void> {
  const filter: QueryFilter<DeliveryDoc> =
    status === 'cancelled'
      ? { _id: deliveryId, status: { $ne: 'succeeded' } }
      : { _id: deliveryId, status: { $nin: ['succeeded', 'failed'] }, ...notCancelledBy(runId) };
  await Delivery.updateOne(filter, {
    $set: { status, next_attempt_at: null, last_error: error, run_id: runId },
  });
}

// Idempotent writes of the delivery view. Activities call these; a retried activity, a worker that died
// mid-write or a reset workflow run can repeat any of them without double-counting.
//
// Guards (this attempt began last, the delivery was not cancelled by this run) sit in the write's filter next
// to `_id`, so each write is one atomic round trip on MongoDB. The embedded FerretDB serves such a filter
// from its `_id` index too (tools/ferretdb/patch.mjs); any filter without `_id` makes it scan the collection.
// The writes go to the driver's collections, bypassing mongoose's casting and hydration (most of the client
// CPU of each call, bench/README.md), so they set `updated_at` themselves.
import type { QueryFilter } from 'mongoose';
import { isDuplicateKeyError } from '../db';
import { derivedIds } from '../ids';
import {
  type AttemptDoc,
  Delivery,
  DeliveryAttempt,
  type DeliveryDoc,
  type NewDelivery,
  newDeliveryView,
} from './model';
import { FINAL_STATUSES, type FinalStatus } from './status';

/**
 * A cancelled view is final for the run that cancelled it; a later run (a reset) may deliver again. Only this
 * and the attempt key guard an attempt's writes: a local first attempt runs again when its workflow task is
 * retried, even over an outcome the lost execution recorded.
 */
function cancelledBy(view: DeliveryDoc, runId: string): boolean {
  return view.status === 'cancelled' && view.run_id === runId;
}

/** The filter of a guarded write: this delivery, begun by `attemptKey` (or any) and not cancelled by this run. */
function guarded(deliveryId: string, runId: string, lastAttemptKey: string | { $ne: string }) {
  const filter: QueryFilter<DeliveryDoc> = {
    _id: deliveryId,
    last_attempt_key: lastAttemptKey,
    $nor: [{ status: 'cancelled', run_id: runId }],
  };
  return filter;
}

/** What `beginAttempt` found: the attempt to make, or a delivery this run already cancelled. */
export type BeginResult = { attempt: number; view: DeliveryDoc } | 'cancelled';

/**
 * The view could be neither begun nor explained by a cancel or a repeated call, however often the write was
 * tried. Never a reason to end the delivery: the attempt fails and is retried.
 */
export class ViewConflictError extends Error {}

/** Writes of the begin step before it gives up with a ViewConflictError. */
const BEGIN_TRIES = 4;

/**
 * Marks the delivery in_progress and counts the attempt, once per `attemptKey`. Returns the attempt number
 * and the view as it was, or `cancelled` when this run cancelled the delivery.
 *
 * Stores `newView` when the view is not there yet, in the same write: the API stores a publish's views
 * while it starts their workflows, so a first attempt can come first, and an API that died between the two
 * leaves the view to the attempt.
 */
export async function beginAttempt(
  deliveryId: string,
  runId: string,
  attemptKey: string,
  newView: NewDelivery,
): Promise<BeginResult> {
  for (let tries = 1; ; tries++) {
    const now = new Date();
    const inProgress = {
      status: 'in_progress',
      last_attempt_key: attemptKey,
      last_attempt_at: now,
      next_attempt_at: null,
      run_id: runId,
      updated_at: now,
    } as const;
    let before: DeliveryDoc | null = null;
    try {
      const result = await Delivery.collection.findOneAndUpdate(
        guarded(deliveryId, runId, { $ne: attemptKey }) as never,
        {
          $set: inProgress,
          $inc: { attempts: 1 },
          $setOnInsert: fieldsOnInsert(newDeliveryView(newView, now), inProgress),
        },
        { returnDocument: 'before', upsert: true, includeResultMetadata: true },
      );
      if (result.lastErrorObject?.upserted !== undefined) {
        return { attempt: 1, view: newDeliveryView(newView, now) };
      }
      before = result.value as DeliveryDoc | null;
    } catch (err) {
      // The upsert found nothing to update, then could not insert: a view is there. Either the filter refused
      // it, or it was stored between the upsert's lookup and its insert (the API's insert of the same
      // publish; neither MongoDB nor FerretDB retries such an upsert). The read below tells which.
      if (!isDuplicateKeyError(err)) throw err;
    }
    if (before) {
      // The previous attempt began but never finished: its worker died mid-request. Record it as lost, so
      // that the attempt documents add up to the view's count.
      if (before.status === 'in_progress' && before.attempts > 0 && before.last_attempt_at) {
        await recordLostAttempts(before, before.last_attempt_at);
      }
      return { attempt: (before.attempts ?? 0) + 1, view: before };
    }
    // Not updated: cancelled by this run, or already counted by a call whose answer was lost.
    const view = await Delivery.findById(deliveryId).lean();
    if (view && cancelledBy(view, runId)) return 'cancelled';
    if (view && view.last_attempt_key === attemptKey) return { attempt: view.attempts, view };
    // Neither: the view appeared or changed between the write and this read. Write again.
    if (tries === BEGIN_TRIES) {
      throw new ViewConflictError(
        view
          ? `delivery ${deliveryId}: its view (${view.status}, attempt key ${view.last_attempt_key}) refused attempt ${attemptKey} ${tries} times`
          : `delivery ${deliveryId}: no view to begin attempt ${attemptKey} on`,
      );
    }
  }
}

/** A new view's fields that the begin write does not set itself (an upsert may not set a field twice). */
function fieldsOnInsert(view: DeliveryDoc, set: object): Partial<DeliveryDoc> {
  const fields: Record<string, unknown> = { ...view };
  for (const key of ['_id', 'attempts', ...Object.keys(set)]) delete fields[key];
  return fields;
}

/**
 * Records the view's last attempt as lost, and any earlier one left unrecorded the same way (a worker that
 * died between the counting update and this insert), down to the first attempt that has its document.
 */
async function recordLostAttempts(delivery: DeliveryDoc, startedAt: Date): Promise<void> {
  for (let attempt = delivery.attempts; attempt > 0; attempt--) {
    if (await DeliveryAttempt.collection.findOne({ _id: derivedIds.attempt(delivery._id, attempt) as never }))
      return;
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
}

/** Stores an attempt document once; when it is already there (a repeated call), the first one stands. */
async function insertAttempt(deliveryId: string, attempt: AttemptRecord['attempt']): Promise<void> {
  try {
    await DeliveryAttempt.collection.insertOne({
      _id: derivedIds.attempt(deliveryId, attempt.attempt),
      delivery_id: deliveryId,
      ...attempt,
      created_at: new Date(),
    } satisfies AttemptDoc as never);
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
  await Promise.all([
    insertAttempt(record.deliveryId, attempt),
    // Only the attempt that began last may write its outcome, and never over a cancel of this run.
    Delivery.collection.updateOne(guarded(record.deliveryId, record.runId, record.attemptKey) as never, {
      $set: {
        updated_at: new Date(),
        status: record.status,
        next_attempt_at: record.nextAttemptAt,
        last_status_code: attempt.status_code,
        last_error: attempt.error,
        last_response: attempt.response,
        last_duration_ms: attempt.duration_ms,
        delivered_at: record.status === 'succeeded' ? new Date() : null,
        run_id: record.runId,
      },
    }),
  ]);
}

/**
 * Final states the workflow decides on its own: cancelled, or failed when attempts never reported back.
 * Returns the view as it was when it changed it, null when there was nothing to change: a success stands, and
 * so does a final status this run recorded (an attempt that ended the delivery before the workflow saw it,
 * or a repeated call, which then changes and counts nothing). Another run's failure or cancel yields.
 */
export async function markFinal(
  deliveryId: string,
  runId: string,
  status: 'cancelled' | 'failed',
  error: string,
): Promise<DeliveryDoc | null> {
  const filter: QueryFilter<DeliveryDoc> = {
    _id: deliveryId,
    status: { $ne: 'succeeded' },
    $nor: [{ run_id: runId, status: { $in: [...FINAL_STATUSES] } }],
  };
  return (await Delivery.collection.findOneAndUpdate(
    filter as never,
    { $set: { status, next_attempt_at: null, last_error: error, run_id: runId, updated_at: new Date() } },
    { returnDocument: 'before' },
  )) as DeliveryDoc | null;
}

/** The final status a delivery's view shows once `markFinal` has run: the one asked for, or the one it kept. */
export async function finalStatusOf(deliveryId: string, asked: FinalStatus): Promise<FinalStatus> {
  const view = await Delivery.collection.findOne({ _id: deliveryId as never }, { projection: { status: 1 } });
  return view && FINAL_STATUSES.includes(view.status) ? (view.status as FinalStatus) : asked;
}

/**
 * Undoes `beginAttempt` for an attempt that made no request after all (its endpoint held it back while it
 * began): the view reads as before, and the attempt is not counted. Only the attempt that began last may.
 */
export async function abandonAttempt(
  deliveryId: string,
  runId: string,
  attemptKey: string,
  before: DeliveryDoc,
): Promise<void> {
  await Delivery.collection.updateOne(guarded(deliveryId, runId, attemptKey) as never, {
    $set: {
      status: before.status,
      last_attempt_key: before.last_attempt_key ?? null,
      last_attempt_at: before.last_attempt_at ?? null,
      next_attempt_at: before.next_attempt_at ?? null,
      updated_at: new Date(),
    },
    $inc: { attempts: -1 },
  });
}

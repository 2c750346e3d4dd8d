// One delivery = one workflow. The first attempt is a local activity inside the workflow task that starts the
// run, so a delivery that succeeds at once is one workflow task and no activity task through the server. If
// it fails, the workflow marks the delivery `retrying` (search attribute included), waits out the first
// backoff, and runs the rest of the schedule as one regular activity whose RetryPolicy and heartbeats carry
// the backoff that cancel and retryNow act on. Statuses move by the status machine (src/deliveries/status.ts).
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type DeliveryEvent, type FinalStatus, transition } from '../src/deliveries/status';
import {
  type AttemptFailureDetails,
  type DeliveryLiveState,
  type DeliveryWorkflowInput,
  FailureTypes,
  type HoldDetails,
  isOperationalEndpoint,
  SearchAttributes,
  Signals,
  TEMPORAL_CANCEL_ERROR,
} from '../src/delivery-contract';
import { backoffMs, retryPolicyFor } from '../src/retry-schedule';

export const cancelSignal = defineSignal('cancel');
export const retryNowSignal = defineSignal('retryNow');
export const releaseSignal = defineSignal(Signals.release);
export const stateQuery = defineQuery<DeliveryLiveState>('state');

/** Room for connection setup and view writes around the endpoint's own request timeout. */
const ACTIVITY_OVERHEAD_MS = 10_000;

const viewActivities = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export interface DeliveryOutcome {
  status: FinalStatus;
  attemptsThisRun: number;
}

export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<DeliveryOutcome> {
  const outcome = await deliver(input);
  // Since 2-endpoint-health: a delivery that failed tells the project's operational endpoints. Runs started
  // before (1-baseline) replay without it.
  if (outcome.status === 'failed' && !isOperationalEndpoint(input.endpointId) && patched('announce-failure'))
    await viewActivities.announceFailure({ deliveryId: input.deliveryId, projectId: input.projectId });
  return outcome;
}

async function deliver(input: DeliveryWorkflowInput): Promise<DeliveryOutcome> {
  const { runId } = workflowInfo();
  // Cancelled when Temporal is asked to cancel the workflow ("Request Cancellation" in the Web UI).
  const root = CancellationScope.current();
  // A scheduled delivery waits for its time first, in the loop's timer, as `scheduled`.
  let delayMs = input.deliverAt ? Math.max(0, Date.parse(input.deliverAt) - Date.now()) : 0;
  const state: DeliveryLiveState = {
    status: delayMs > 0 ? 'scheduled' : 'pending',
    attemptsThisRun: 0,
    nextAttemptAt: null,
    lastError: null,
    heldBy: null,
  };
  let cancelRequested = false;
  let retryNowRequested = false;
  /** What holds the delivery back (its endpoint's limits or health), while something does. */
  let hold: HoldDetails | null = null;
  let released = false;
  /** The scope of the attempts in flight with their backoff: cancel and retryNow cut it short. */
  let retryScope: CancellationScope | null = null;

  setHandler(stateQuery, () => state);
  setHandler(cancelSignal, () => {
    cancelRequested = true;
    retryScope?.cancel();
  });
  setHandler(releaseSignal, () => {
    released = true;
  });
  setHandler(retryNowSignal, () => {
    if (transition(state.status, 'retryNow') === null) return;
    retryNowRequested = true;
    retryScope?.cancel();
  });

  /** Moves the status by the status machine; the search attribute follows every status the view shows. */
  const move = (event: DeliveryEvent, searchAttribute = true) => {
    state.status = transition(state.status, event) ?? state.status;
    if (searchAttribute) upsertSearchAttributes([{ key: SearchAttributes.status, value: state.status }]);
  };

  // Synchronous unless the view needs the final status: a promise in workflow code costs the SDK a stack
  // capture (its stack-trace query), so the happy path makes as few as it can.
  const finish = (
    event: Extract<DeliveryEvent, 'succeed' | 'fail' | 'cancel'>,
    error: string | null,
    recordOnView: boolean,
  ): DeliveryOutcome | Promise<DeliveryOutcome> => {
    state.lastError = error;
    state.nextAttemptAt = null;
    const asked = transition(state.status, event) as FinalStatus;
    if (!recordOnView || asked === 'succeeded') {
      move(event, asked !== 'succeeded' || input.successShownBy !== 'execution-status');
      return { status: asked, attemptsThisRun: state.attemptsThisRun };
    }
    // The view's answer is the outcome: an attempt may have ended the delivery before this run saw it (a
    // signal that failed the workflow task carrying a local attempt's result makes the task run again).
    return CancellationScope.nonCancellable(() =>
      viewActivities.markDeliveryFinal({
        deliveryId: input.deliveryId,
        runId,
        status: asked,
        error: error ?? asked,
      }),
    ).then((recorded) => {
      state.status = recorded;
      upsertSearchAttributes([{ key: SearchAttributes.status, value: recorded }]);
      return { status: recorded, attemptsThisRun: state.attemptsThisRun };
    });
  };

  // A cancel through Temporal is recorded like one by signal, then ends the workflow as Temporal's
  // cancellations do (status Canceled), unless an attempt had ended the delivery first.
  const cancelledInTemporal = async (): Promise<DeliveryOutcome> => {
    const outcome = await finish('cancel', TEMPORAL_CANCEL_ERROR, true);
    if (outcome.status !== 'cancelled') return outcome;
    throw new CancelledFailure(TEMPORAL_CANCEL_ERROR);
  };

  for (;;) {
    if (delayMs > 0) {
      state.nextAttemptAt = new Date(Date.now() + delayMs).toISOString();
      try {
        await condition(() => cancelRequested || retryNowRequested || (hold !== null && released), delayMs);
      } catch (err) {
        if (!root.consideredCancelled) throw err;
      }
    }
    if (root.consideredCancelled) return cancelledInTemporal();
    if (cancelRequested) return finish('cancel', 'cancelled by request', true);
    retryNowRequested = false;
    delayMs = 0;
    const heldBy = hold;
    hold = null;
    state.heldBy = null;

    const first = state.attemptsThisRun === 0 && input.retry.max_attempts > 1;
    const scheduleAttempts = first ? 1 : input.retry.max_attempts - state.attemptsThisRun;
    const options = {
      startToCloseTimeout: input.timeoutMs + ACTIVITY_OVERHEAD_MS,
      retry: retryPolicyFor(input.retry, state.attemptsThisRun, scheduleAttempts),
      // Attempts cancelled by retryNow while one is in flight wait for it, so two attempts of one delivery
      // never overlap.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    };
    const local = state.attemptsThisRun === 0 && scheduleAttempts === 1 && input.firstAttempt === 'local';
    const { sendWebhook } = local
      ? proxyLocalActivities<Activities>(options)
      : proxyActivities<Activities>(options);
    const attemptsBefore = state.attemptsThisRun;
    const statusBefore = state.status;
    // Later attempts stay `retrying` here: their backoff runs inside the activity's retry policy.
    if (state.status === 'pending' || state.status === 'scheduled') move('begin', false);
    const send = () =>
      sendWebhook({
        deliveryId: input.deliveryId,
        projectId: input.projectId,
        endpointId: input.endpointId,
        eventId: input.eventId,
        view: input.view,
        retry: input.retry,
        attemptsBefore,
        finalSchedule: !first,
        scheduleAttempts,
        heldBy,
      });
    try {
      // A local attempt runs inside the workflow task, so no signal reaches the workflow before it answers
      // (one that does, after a task heartbeat, is acted on once it has): it needs no scope of its own.
      if (local) await send();
      else {
        retryScope = new CancellationScope();
        await retryScope.run(send);
      }
      state.attemptsThisRun += 1;
      // Attempts made by the activity's own retries began out of the workflow's sight.
      if (state.status === 'retrying') move('begin', false);
      return finish('succeed', null, false);
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      // The activity ended the delivery and its view says so: a cancel that came meanwhile came too late.
      if (cause instanceof ApplicationFailure && cause.type === FailureTypes.deliveryFailed)
        return finish('fail', cause.message, false);
      if (root.consideredCancelled) return cancelledInTemporal();
      if (cancelRequested) return finish('cancel', 'cancelled by request', true);
      if (cause instanceof ApplicationFailure && cause.type === FailureTypes.held) {
        // Held back by the endpoint before the held attempt began: it waits, and only the attempts before
        // it count.
        const details = cause.details?.[0] as HoldDetails;
        state.attemptsThisRun = attemptsBefore + details.scheduleAttempt - 1;
        state.status = statusBefore;
        state.heldBy = details.reason;
        hold = details;
        released = false;
        delayMs = details.waitMs;
        continue;
      }
      if (retryNowRequested && isCancellation(err)) {
        // The schedule was in its backoff: its last heartbeat tells how many attempts it made.
        const details =
          cause instanceof CancelledFailure
            ? (cause.details[0] as AttemptFailureDetails | undefined)
            : undefined;
        state.attemptsThisRun = attemptsBefore + (details?.scheduleAttempt ?? 1);
        continue;
      }
      if (cause instanceof ApplicationFailure) {
        const details = cause.details?.[0] as AttemptFailureDetails | undefined;
        state.lastError = cause.message;
        if (cause.type === FailureTypes.attemptFailed && first) {
          state.attemptsThisRun = 1;
          delayMs = details?.retryAfterMs ?? backoffMs(input.retry, 1);
          move('retry');
          continue;
        }
        if (cause.type === FailureTypes.deliveryCancelled) return finish('cancel', cause.message, false);
      }
      const message = cause instanceof Error ? cause.message : String(cause);
      if (first) {
        // The lone first attempt broke without an answer to judge (timeout, lost worker, database down):
        // that is a failed attempt like any other, so the retry schedule takes over.
        state.attemptsThisRun = 1;
        state.lastError = message;
        delayMs = backoffMs(input.retry, 1);
        move('retry');
        continue;
      }
      // Retries ran out on something the activity could not record (timeouts, a lost worker).
      return finish('fail', message, true);
    } finally {
      retryScope = null;
    }
  }
}

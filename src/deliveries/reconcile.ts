// Keeps delivery views true to workflows that ended without running hookflow code: terminated, timed out, or
// failed in Temporal. A Temporal Schedule starts `reconcileViewsWorkflow` on the delivery task queue every
// interval; its one activity lists the delivery workflows that closed that way since the last pass (a
// visibility query) and records the outcome on each view that is not final yet.

import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { model, Schema } from 'mongoose';
import { TEMPORAL_CANCEL_ERROR } from '../delivery-contract';
import type { Logger } from '../logger';
import { deliveryTransitions, viewsReconciled } from '../metrics';
import { ensureIntervalSchedule } from '../schedules';
import type { StatsRecorder } from '../stats/recorder';
import { Delivery } from './model';
import { isFinal } from './status';
import { markFinal } from './view';

/** Closed runs are looked for this far before the previous pass began: visibility is written a moment late. */
const OVERLAP_MS = 60_000;

/** Where the previous pass began, per task queue: the next one looks at runs closed since then. */
const ReconcileCursor = model(
  'ReconcileCursor',
  new Schema<{ _id: string; closed_since: Date }>(
    { _id: { type: String, required: true }, closed_since: { type: Date, required: true } },
    { versionKey: false },
  ),
  'reconcile_cursors',
);

export function reconcileScheduleId(taskQueue: string): string {
  return `hookflow-reconcile-views-${taskQueue}`;
}

/** Creates the reconciler's schedule, or brings an existing one to this interval and task queue. */
export function ensureReconcileSchedule(
  client: Client,
  taskQueue: string,
  intervalMs: number,
): Promise<void> {
  return ensureIntervalSchedule(client, {
    scheduleId: reconcileScheduleId(taskQueue),
    workflowType: 'reconcileViewsWorkflow',
    workflowId: `reconcile-views-${taskQueue}`,
    taskQueue,
    everyMs: intervalMs,
  });
}

/** The attributes of a run's last history event that say how it closed. */
export interface ClosingEvent {
  workflowExecutionTerminatedEventAttributes?: { reason?: string | null; identity?: string | null } | null;
  workflowExecutionTimedOutEventAttributes?: object | null;
  workflowExecutionFailedEventAttributes?: { failure?: { message?: string | null } | null } | null;
  workflowExecutionCanceledEventAttributes?: object | null;
}

/** The view outcome of a run that closed with this last history event; null when hookflow code ended it. */
export function closedRunOutcome(
  event: ClosingEvent,
): { status: 'failed' | 'cancelled'; error: string } | null {
  const terminated = event.workflowExecutionTerminatedEventAttributes;
  if (terminated) {
    const reason = terminated.reason ? `: ${terminated.reason}` : '';
    const by = terminated.identity ? ` (by ${terminated.identity})` : '';
    return { status: 'failed', error: `terminated in Temporal${reason}${by}` };
  }
  if (event.workflowExecutionTimedOutEventAttributes) {
    return { status: 'failed', error: 'timed out in Temporal (the workflow run or execution timeout)' };
  }
  const failed = event.workflowExecutionFailedEventAttributes;
  if (failed) {
    return {
      status: 'failed',
      error: `workflow failed in Temporal: ${failed.failure?.message ?? 'no message'}`,
    };
  }
  if (event.workflowExecutionCanceledEventAttributes)
    return { status: 'cancelled', error: TEMPORAL_CANCEL_ERROR };
  return null;
}

export interface ReconcileResult {
  /** Closed runs the query found. */
  checked: number;
  /** Views this pass made final. */
  recorded: number;
}

/** One pass: every delivery run of `taskQueue` that closed outside hookflow since the previous pass. */
export async function reconcileClosedDeliveries(
  client: Client,
  taskQueue: string,
  logger: Logger,
  onProgress: () => void = () => {},
  stats?: StatsRecorder,
): Promise<ReconcileResult> {
  const passStartedAt = new Date();
  const cursor = await ReconcileCursor.findById(taskQueue).lean();
  const conditions = [
    `WorkflowType = 'deliveryWorkflow'`,
    `TaskQueue = '${taskQueue}'`,
    `ExecutionStatus IN ('Terminated', 'TimedOut', 'Failed', 'Canceled')`,
  ];
  if (cursor) {
    const since = new Date(cursor.closed_since.getTime() - OVERLAP_MS);
    conditions.push(`CloseTime >= '${since.toISOString()}'`);
  }
  const result: ReconcileResult = { checked: 0, recorded: 0 };
  for await (const run of client.workflow.list({ query: conditions.join(' AND ') })) {
    result.checked++;
    if (await reconcileRun(client, run, logger, stats)) result.recorded++;
    onProgress();
  }
  await ReconcileCursor.updateOne(
    { _id: taskQueue },
    { $set: { closed_since: passStartedAt } },
    { upsert: true },
  );
  return result;
}

/** Records how `run` ended on its view, unless the view is final or a later run of the delivery owns it. */
async function reconcileRun(
  client: Client,
  run: WorkflowExecutionInfo,
  logger: Logger,
  stats?: StatsRecorder,
): Promise<boolean> {
  const deliveryId = run.workflowId.replace(/^delivery-/, '');
  const view = await Delivery.collection.findOne({ _id: deliveryId as never }, { projection: { status: 1 } });
  if (!view || isFinal(view.status)) return false;
  // A reset closes the run it replaces: the new run, running or closed, is the one to follow.
  const latest = await client.workflow.getHandle(run.workflowId).describe();
  if (latest.runId !== run.runId) return false;
  const { history } = await client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: client.options.namespace,
    execution: { workflowId: run.workflowId, runId: run.runId },
    maximumPageSize: 1,
  });
  const closing = history?.events?.[0];
  const outcome = closing ? closedRunOutcome(closing) : null;
  if (!outcome) return false;
  const before = await markFinal(deliveryId, run.runId, outcome.status, outcome.error);
  if (!before) return false;
  viewsReconciled.inc({ status: outcome.status });
  deliveryTransitions.inc({ status: outcome.status, trigger: before.trigger });
  await stats?.recordFinal({ projectId: before.project_id, endpointId: before.endpoint_id }, outcome.status);
  logger.warn(
    {
      delivery_id: deliveryId,
      workflow_id: run.workflowId,
      run_id: run.runId,
      was: before.status,
      ...outcome,
    },
    'delivery view reconciled with a workflow that ended in Temporal',
  );
  return true;
}

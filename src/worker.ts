import type { Client } from '@temporalio/client';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { Agent, type Dispatcher, ProxyAgent } from 'undici';
import { createActivities } from '../activities';
import { ensureReconcileSchedule } from './deliveries/reconcile';
import type { Logger } from './logger';
import { ensureRetentionSchedule } from './retention/expire';
import { guardedLookup } from './target-policy';
import { temporalPlugins } from './tracing';

export interface WorkerOptions {
  /**
   * The process's Temporal client. The worker polls on the client's connection: a workflow this process
   * starts with `requestEagerStart` then gets its first workflow task in the start call's answer, with no
   * dispatch through the server's task queue.
   */
  client: Client;
  namespace: string;
  taskQueue: string;
  allowPrivateTargets: boolean;
  /** HOOKFLOW_EGRESS_PROXY: every webhook and token request goes through this HTTP CONNECT proxy. */
  egressProxy?: string;
  logger: Logger;
  /**
   * How long a shutdown waits for activities in flight (webhooks being sent) before cancelling them;
   * a cancelled attempt is retried by the next worker.
   */
  shutdownGraceMs?: number;
  /** How often the view reconciler runs (HOOKFLOW_RECONCILE_INTERVAL_S). */
  reconcileIntervalMs?: number;
}

/** Slot and poller settings, shared with the benchmark's Temporal-floor worker so both run alike. */
export const WORKER_TUNING = {
  // Activities waiting on MongoDB count against their start-to-close timeout: more slots than the store can
  // serve turn overload into timed-out, repeated attempts (seen with FerretDB at 200).
  maxConcurrentActivityTaskExecutions: 50,
  maxConcurrentLocalActivityExecutions: 50,
  maxConcurrentWorkflowTaskExecutions: 100,
  maxConcurrentWorkflowTaskPolls: 20,
  nonStickyToStickyPollRatio: 0.5,
} as const;

export async function createDeliveryWorker({
  client,
  namespace,
  taskQueue,
  allowPrivateTargets,
  egressProxy,
  logger,
  shutdownGraceMs = 30_000,
  reconcileIntervalMs = 60_000,
}: WorkerOptions) {
  // Deliveries do not depend on the reconciler: a worker that may not manage schedules still starts.
  await ensureReconcileSchedule(client, taskQueue, reconcileIntervalMs).catch((err) => {
    logger.error({ err }, 'the view reconciler schedule could not be created or updated');
  });
  await ensureRetentionSchedule(client, taskQueue).catch((err) => {
    logger.error({ err }, 'the retention schedule could not be created or updated');
  });
  // One keep-alive pool per origin; redirects are never followed (undici's default). The SSRF guard checks
  // every connection's resolved addresses, or, through a proxy (which resolves names itself), each target's
  // name before its request (activities/webhook-request.ts).
  const pool = { connections: 64, keepAliveTimeout: 30_000, pipelining: 1 };
  const dispatcher: Dispatcher = egressProxy
    ? new ProxyAgent({ uri: egressProxy, ...pool })
    : new Agent({ ...pool, connect: allowPrivateTargets ? {} : { lookup: guardedLookup } });
  const worker = await Worker.create({
    connection: client.connection as NativeConnection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({
      dispatcher,
      logger,
      allowPrivateTargets,
      viaProxy: egressProxy !== undefined,
      temporal: { client, taskQueue },
    }),
    ...WORKER_TUNING,
    shutdownGraceTime: shutdownGraceMs,
    // Tracing's workflow and activity interceptors, when it is on (src/tracing.ts).
    plugins: temporalPlugins(),
  });
  return {
    worker,
    /** Closes what the worker owns; the client's connection stays with the caller. */
    async close() {
      await dispatcher.close();
    },
  };
}

// Records real delivery workflow histories into test/histories/<folder>/ for the replay test, which proves
// that a workflow code change stays compatible with workflows already running. The baseline is
// `1-baseline`; after a deliberate, patched workflow change, record into a new folder named after it and keep
// the older ones: `node --import tsx test/record-histories.ts 2-<change> [name prefix]` (with a prefix, only
// the scenarios whose names start with it: those the change brought).

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { delayed, Receiver, status } from './helpers/receiver';
import { eventually, startStack } from './helpers/stack';

const RETRY = { max_attempts: 4, initial_interval_ms: 200, backoff_coefficient: 2, max_interval_ms: 1000 };
const HOUR = 3_600_000;
const SLOW = { max_attempts: 4, initial_interval_ms: 200, backoff_coefficient: 2, max_interval_ms: HOUR };
const retryAfterHour = status(503, '', { 'retry-after': '3600' });

interface Scenario {
  responders: Parameters<Receiver['script']>[1][];
  retry?: typeof RETRY;
  /**
   * Sent once the delivery has made this many attempts and is retrying (0: once the first request has reached
   * the receiver): a signal, or `temporal-cancel`, a cancellation request through Temporal ("Request
   * Cancellation" in the Web UI).
   */
  signal?: { name: 'cancel' | 'retryNow' | 'temporal-cancel'; afterAttempts: number };
  /** Endpoint settings beyond the URL, event type and retry. */
  endpoint?: object;
  /** Events published before the recorded one (which is the last). */
  before?: number;
  /** Once the delivery has made this many attempts and is retrying: pause its endpoint, wait, resume it. */
  pauseAfterAttempts?: number;
  /** Record the endpoint's health workflow rather than the delivery's. */
  recordHealth?: boolean;
  /** Published with deliver_at this far ahead; `whileScheduled`: the signal sent as soon as it waits. */
  deliverInMs?: number;
  whileScheduled?: 'cancel' | 'retryNow';
  /** Publish to this many endpoints (a large fan-out) and record the fan-out workflow: the publish's or, with
   * `replay`, that of an event replay made once the publish's fan-out has finished. */
  fanOut?: { recipients: number; replay?: boolean };
  /** Record a pass of the retention workflow instead (over this run's project). */
  retention?: boolean;
}

async function main() {
  const [version, prefix = ''] = process.argv.slice(2);
  if (!version) throw new Error('usage: record-histories.ts <folder under test/histories>');
  const dir = join(__dirname, 'histories', version);
  mkdirSync(dir, { recursive: true });
  const [stack, receiver] = await Promise.all([startStack(), new Receiver().start()]);
  try {
    const { key } = await stack.newProject('histories');
    // The CLI's JSON is the format historyFromJSON reads (and what an operator would export by hand).
    const record = (name: string, workflowId: string) => {
      const json = execFileSync(stack.temporalBinary, [
        'workflow',
        'show',
        '--address',
        stack.temporalAddress,
        '--workflow-id',
        workflowId,
        '--output',
        'json',
      ]);
      writeFileSync(join(dir, `${name}.json`), json);
      process.stdout.write(`recorded ${name}: ${JSON.parse(json.toString()).events.length} events\n`);
    };
    const scenarios: Record<string, Scenario> = {
      succeeded: { responders: [status(200)] },
      'retried-then-succeeded': { responders: [status(500), status(503), status(200)] },
      'failed-400': { responders: [status(400)] },
      'failed-exhausted': { responders: [status(500)] },
      gone: { responders: [status(410)] },
      'cancelled-in-timer': {
        responders: [status(500)],
        retry: { ...SLOW, initial_interval_ms: HOUR },
        signal: { name: 'cancel', afterAttempts: 1 },
      },
      'cancelled-in-activity-backoff': {
        responders: [status(500), retryAfterHour],
        retry: SLOW,
        signal: { name: 'cancel', afterAttempts: 2 },
      },
      'retry-now-in-activity-backoff': {
        responders: [status(500), retryAfterHour, status(200)],
        retry: SLOW,
        signal: { name: 'retryNow', afterAttempts: 2 },
      },
      'temporal-cancelled-in-timer': {
        responders: [status(500)],
        retry: { ...SLOW, initial_interval_ms: HOUR },
        signal: { name: 'temporal-cancel', afterAttempts: 1 },
      },
      'temporal-cancelled-in-activity-backoff': {
        responders: [status(500), retryAfterHour],
        retry: SLOW,
        signal: { name: 'temporal-cancel', afterAttempts: 2 },
      },
      'cancelled-while-a-failing-first-attempt-runs': {
        responders: [delayed(1_500, status(400))],
        retry: SLOW,
        signal: { name: 'cancel', afterAttempts: 0 },
      },
      // 2-endpoint-health: deliveries held back by their endpoint, and the endpoint's health workflow.
      'held-by-rate-limit': { responders: [status(200)], endpoint: { rate_limit_per_s: 1 }, before: 4 },
      'held-by-pause-then-resumed': { responders: [status(500), status(200)], pauseAfterAttempts: 1 },
      'held-by-open-circuit-then-probed': {
        responders: [status(500), status(500), status(200)],
        retry: { ...RETRY, initial_interval_ms: 500 },
        endpoint: { circuit_breaker: { min_attempts: 2 } },
      },
      'health-workflow-probe-closes': {
        responders: [status(500), status(500), status(200)],
        retry: { ...RETRY, initial_interval_ms: 500 },
        endpoint: { circuit_breaker: { min_attempts: 2 } },
        recordHealth: true,
      },
      // 3-routing: deliveries published with deliver_at.
      'scheduled-then-delivered': { responders: [status(200)], deliverInMs: 2_000 },
      'scheduled-then-retried-now': {
        responders: [status(200)],
        deliverInMs: HOUR,
        whileScheduled: 'retryNow',
      },
      'scheduled-then-cancelled': { responders: [status(200)], deliverInMs: HOUR, whileScheduled: 'cancel' },
      // 5-fan-out: the fan-out workflow of a large publish and of a large event replay.
      'fan-out-publish': { responders: [status(200)], fanOut: { recipients: 120 } },
      'fan-out-replay': { responders: [status(200)], fanOut: { recipients: 120, replay: true } },
      // 6-retention: one pass of the retention workflow.
      'retention-pass': { responders: [], retention: true },
    };
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (!name.startsWith(prefix)) continue;
      if (scenario.retention) {
        const args: [] = [];
        await stack.client.workflow.execute('retentionWorkflow', {
          taskQueue: stack.taskQueue,
          workflowId: name,
          args,
        });
        record(name, name);
        continue;
      }
      const url = receiver.script(`/${name}`, ...scenario.responders);
      const retry = scenario.retry ?? RETRY;
      const endpoint = await stack.request('POST', '/v1/endpoints', {
        key,
        body: { url, event_types: [name], retry, ...scenario.endpoint },
      });
      // A large fan-out's other recipients: the same URL, one endpoint each.
      for (let n = 1; n < (scenario.fanOut?.recipients ?? 1); n++)
        await stack.request('POST', '/v1/endpoints', { key, body: { url, event_types: [name], retry } });
      const deliverAt = scenario.deliverInMs
        ? { deliver_at: new Date(Date.now() + scenario.deliverInMs).toISOString() }
        : {};
      const publish = () =>
        stack.request('POST', '/v1/events', {
          key,
          body: { event_type: name, payload: { name }, ...deliverAt },
        });
      for (let n = 0; n < (scenario.before ?? 0); n++) await publish();
      const event = await publish();
      if (scenario.fanOut) {
        let fanOutId = `fanout-${event.body.id}`;
        if (scenario.fanOut.replay) {
          await stack.client.workflow.getHandle(fanOutId).result();
          const replay = await stack.request('POST', `/v1/events/${event.body.id}/replay`, { key });
          fanOutId = `fanout-${replay.body.replay_id}`;
        }
        await stack.client.workflow.getHandle(fanOutId).result();
        record(name, fanOutId);
        continue;
      }
      const deliveryId = event.body.deliveries[0].id;
      const handle = stack.client.workflow.getHandle(
        scenario.recordHealth ? `endpoint-health-${endpoint.body.id}` : event.body.deliveries[0].workflow_id,
      );
      if (scenario.pauseAfterAttempts) {
        await eventually(
          () => stack.request('GET', `/v1/deliveries/${deliveryId}`, { key }).then((r) => r.body),
          (d) => d.status === 'retrying' && d.attempts === scenario.pauseAfterAttempts,
        );
        const path = `/v1/endpoints/${endpoint.body.id}`;
        await stack.request('PATCH', path, { key, body: { status: 'paused' } });
        await eventually(
          () => handle.query<{ heldBy: string | null }>('state'),
          (state) => state.heldBy === 'endpoint_paused',
          30_000,
        );
        await stack.request('PATCH', path, { key, body: { status: 'active' } });
      }
      if (scenario.whileScheduled) {
        await eventually(
          () => handle.query<{ status: string }>('state'),
          (state) => state.status === 'scheduled',
        );
        await handle.signal(scenario.whileScheduled);
      }
      if (scenario.recordHealth)
        await eventually(
          () => stack.request('GET', `/v1/deliveries/${deliveryId}`, { key }).then((r) => r.body),
          (d) => d.status === 'succeeded',
          60_000,
        );
      if (scenario.signal) {
        const { name: signal, afterAttempts } = scenario.signal;
        const id = deliveryId;
        if (afterAttempts === 0) await receiver.waitFor(`/${name}`, 1);
        else
          await eventually(
            () => stack.request('GET', `/v1/deliveries/${id}`, { key }).then((r) => r.body),
            (d) => d.status === 'retrying' && d.attempts === afterAttempts,
          );
        await (signal === 'temporal-cancel' ? handle.cancel() : handle.signal(signal));
      }
      await eventually(
        () => handle.describe(),
        (d) => d.status.name !== 'RUNNING',
        60_000,
      );
      record(name, handle.workflowId);
    }
  } finally {
    await Promise.all([stack.stop(), receiver.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Concurrent publishers against one hookflow process that runs the API and a worker, as `npm start` does
// (eager workflow starts: a first attempt runs next to the API's own writes), while extra worker processes
// are SIGKILLed and replaced, the receiver fails a quarter of the requests, and another writer keeps the
// store's write lock busy (as other traffic on a loaded store does: the API's writes wait for it, reads do
// not). Every delivery answered with 202 must reach the h.receiver.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isFinal } from '../../src/deliveries/status';
import { freePort } from '../../src/embedded';
import { useStack } from '../helpers/harness';
import type { Responder } from '../helpers/receiver';
import { eventually } from '../helpers/stack';
import {
  type HookflowProcess,
  spawnHookflow,
  spawnWorker,
  type WorkerProcess,
} from '../helpers/worker-process';

const EVENTS = 300;
const PUBLISHERS = 8;
const ENDPOINTS = 3;
const TIMEOUT_MS = 1_000;
const BUSY_WRITER = `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
for _ in range(10_000):
    db.execute('BEGIN IMMEDIATE'); time.sleep(0.03); db.execute('COMMIT'); time.sleep(0.005)
`;

describe('load: concurrent publishes while workers are killed', () => {
  const h = useStack({ project: 'load', worker: false });
  let hookflow: HookflowProcess;
  let publishUrl: string;
  const workers: WorkerProcess[] = [];
  /** Delivery ids the receiver answered 2xx in time. */
  const delivered = new Set<string>();

  before(async () => {
    const port = await freePort();
    publishUrl = `http://127.0.0.1:${port}/v1/events`;
    let extra: WorkerProcess[];
    [hookflow, ...extra] = await Promise.all([
      spawnHookflow(h.stack, 'all', { HOOKFLOW_PORT: String(port), LOG_LEVEL: 'info' }),
      spawnWorker(h.stack),
      spawnWorker(h.stack),
    ]);
    workers.push(...extra);
  });
  after(async () => {
    await Promise.all([hookflow, ...workers].map((p) => p?.kill('SIGKILL')));
  });

  /**
   * Takes the embedded FerretDB's SQLite write lock for 30 ms out of every 35 until killed (Python's
   * sqlite3, as another writer of the same file would).
   */
  function busyStore() {
    const db = join(h.stack.dataDir, 'ferretdb', 'hookflow.sqlite');
    const writer = spawn('python3', ['-c', BUSY_WRITER, db], { stdio: 'ignore' });
    return async () => {
      const exited = new Promise((resolve) => writer.once('exit', resolve));
      writer.kill('SIGKILL');
      await exited;
    };
  }

  // 20 % answered 503, 5 % answered after the endpoint's timeout, the rest 200 at once.
  const flaky: Responder = (req, res) => {
    const roll = Math.random();
    if (roll < 0.2) {
      res.writeHead(503);
      res.end();
    } else if (roll < 0.25) {
      setTimeout(() => res.end('too late'), TIMEOUT_MS + 500);
    } else {
      delivered.add(String(req.headers['hookflow-delivery-id']));
      res.end('ok');
    }
  };

  it('delivers every accepted delivery', { timeout: 300_000 }, async () => {
    const endpoints: string[] = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      h.receiver.script(`/load-${i}`, flaky);
      const ep = await h.createEndpoint(`/load-${i}`, {
        event_types: ['load.test'],
        timeout_ms: TIMEOUT_MS,
        retry: {
          max_attempts: 30,
          initial_interval_ms: 100,
          backoff_coefficient: 1.5,
          max_interval_ms: 1_000,
        },
      });
      endpoints.push(ep.id);
    }

    // Kills one extra worker every 1.5 s and starts another in its place, until the publishes are done.
    let publishing = true;
    let killed = 0;
    const killer = (async () => {
      while (publishing) {
        await new Promise((r) => setTimeout(r, 1_500));
        const victim = workers.shift();
        await victim?.kill('SIGKILL');
        killed++;
        workers.push(await spawnWorker(h.stack));
      }
    })();

    const stopBusyStore = busyStore();
    const accepted: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        while (next < EVENTS) {
          const i = next++;
          const res = await fetch(publishUrl, {
            method: 'POST',
            headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ event_type: 'load.test', payload: { i } }),
          });
          const body = (await res.json()) as { deliveries: { id: string }[] };
          assert.equal(res.status, 202, JSON.stringify(body));
          for (const d of body.deliveries) accepted.push(d.id);
        }
      }),
    );
    publishing = false;
    await Promise.all([killer, stopBusyStore()]);
    assert.equal(accepted.length, EVENTS * ENDPOINTS);
    assert.ok(killed >= 1, 'at least one worker was killed while publishing');

    const views = await eventually(
      () => Promise.all(accepted.map((id) => h.delivery(id))),
      (vs) => vs.every((v) => isFinal(v.status)),
      180_000,
    ).catch(async (err) => {
      const stuck = [];
      for (const id of accepted) {
        const v = await h.delivery(id);
        if (v.status === 'succeeded') continue;
        // What Temporal says of it, for whoever reads the failure: closed or waiting, and on what.
        const d = await h.stack.client.workflow
          .getHandle(v.workflow_id)
          .describe()
          .then(
            (w) => `${w.status.name}, pending activities ${JSON.stringify(w.raw.pendingActivities ?? [])}`,
            (e: Error) => e.message,
          );
        stuck.push(`${id}: ${v.status} (attempts ${v.attempts}, ${v.last_error}; workflow: ${d})`);
      }
      throw new Error(`${stuck.length} deliveries never finished: ${stuck.slice(0, 10).join(', ')}`, {
        cause: err,
      });
    });
    const notSucceeded = views.filter((v) => v.status !== 'succeeded');
    assert.deepEqual(
      notSucceeded.map((v) => `${v.id}: ${v.status} (${v.last_error})`),
      [],
      'every accepted delivery succeeded',
    );
    const missing = accepted.filter((id) => !delivered.has(id));
    assert.deepEqual(missing, [], 'the receiver answered every delivery 2xx');
    // No attempt gave up on its view (a ViewConflict).
    const metrics = await (await fetch(publishUrl.replace('/v1/events', '/metrics'))).text();
    assert.match(metrics, /^hookflow_view_conflicts_total 0$/m);
  });
});

// Crash safety: a worker SIGKILLed mid-attempt and mid-backoff, the Temporal dev server restarted, FerretDB
// stopped while deliveries run, a publish whose answer was lost. Every delivery still ends succeeded, and
// the views and attempt documents agree.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import { Delivery, type DeliveryDoc } from '../../src/deliveries/model';
import { beginAttempt } from '../../src/deliveries/view';
import { Event } from '../../src/events/model';
import { newId } from '../../src/ids';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

interface DeliveryJson {
  id: string;
  status: string;
  attempts: number;
}

describe('crash safety', () => {
  const h = useStack({ project: 'crash', worker: false });
  const { api } = h;
  let worker: WorkerProcess | null = null;
  /** Every worker's log output, and every signing secret handed out, to check the one never holds the other. */
  const logs: string[] = [];
  const secrets: string[] = [];

  before(async () => {
    worker = await spawnWorker(h.stack);
  });
  afterEach(async () => {
    worker ??= await spawnWorker(h.stack);
  });
  after(async () => {
    await worker?.kill('SIGTERM');
  });

  async function restartWorker(signal: NodeJS.Signals) {
    await worker?.kill(signal);
    logs.push(worker?.output() ?? '');
    worker = await spawnWorker(h.stack);
  }

  const delivery = (id: string): Promise<DeliveryJson> => h.delivery(id);

  async function publishTo(path: string, endpoint: object, count = 1): Promise<string[]> {
    secrets.push((await h.createEndpoint(path, endpoint)).secret);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await h.publishTo(path, { i })).id);
    return ids;
  }

  /** Every delivery succeeded, and its attempt documents number 1..attempts with the last one a success. */
  async function allSucceededConsistently(ids: string[], timeoutMs = 60_000) {
    const views = await eventually(
      () => Promise.all(ids.map(delivery)),
      (vs) => vs.every((v) => v.status === 'succeeded'),
      timeoutMs,
    );
    for (const view of views) {
      const attempts = (await api('GET', `/v1/deliveries/${view.id}/attempts`)).body.data as {
        attempt: number;
        status: string;
      }[];
      assert.deepEqual(
        attempts.map((a) => a.attempt),
        Array.from({ length: view.attempts }, (_, i) => i + 1),
        `attempt documents of ${view.id} match its count of ${view.attempts}`,
      );
      assert.equal(attempts[attempts.length - 1].status, 'succeeded');
    }
    return views;
  }

  it('finishes every delivery after the worker is SIGKILLed mid-attempt and mid-backoff', async () => {
    let held = 0;
    h.receiver.script(
      '/mid-attempt',
      () => {
        held++; // never answered: the worker dies while waiting for it
      },
      status(200),
    );
    h.receiver.script('/mid-backoff', status(500), status(200));
    const [midAttempt] = await publishTo('/mid-attempt', {
      timeout_ms: 2_000,
      retry: { max_attempts: 5, initial_interval_ms: 500, backoff_coefficient: 1, max_interval_ms: 500 },
    });
    const [midBackoff] = await publishTo('/mid-backoff', {
      retry: { max_attempts: 5, initial_interval_ms: 4_000, backoff_coefficient: 1, max_interval_ms: 4_000 },
    });
    await h.receiver.waitFor('/mid-attempt', 1);
    await h.waitForStatus(midBackoff, 'retrying');
    assert.equal((await delivery(midAttempt)).status, 'in_progress');
    await restartWorker('SIGKILL');

    const [a, b] = await allSucceededConsistently([midAttempt, midBackoff]);
    assert.equal(held, 1);
    assert.equal(a.attempts, 2);
    const lost = (await api('GET', `/v1/deliveries/${midAttempt}/attempts`)).body.data[0];
    assert.equal(lost.outcome, 'lost');
    assert.equal(b.attempts, 2);
    assert.equal(h.receiver.on('/mid-backoff').length, 2);
  });

  it('resumes deliveries in backoff after the Temporal dev server restarts', async () => {
    // Each delivery's first attempt fails, its retry succeeds.
    const failedOnce = new Set<string>();
    h.receiver.script('/temporal-restart', (req, res) => {
      const id = String(req.headers['hookflow-delivery-id']);
      res.writeHead(failedOnce.has(id) ? 200 : 503);
      res.end();
      failedOnce.add(id);
    });
    const ids = await publishTo(
      '/temporal-restart',
      {
        retry: {
          max_attempts: 5,
          initial_interval_ms: 3_000,
          backoff_coefficient: 1,
          max_interval_ms: 3_000,
        },
      },
      3,
    );
    await eventually(
      () => Promise.all(ids.map(delivery)),
      (vs) => vs.every((v) => v.status === 'retrying'),
    );
    await h.stack.restartTemporal(500);
    const views = await allSucceededConsistently(ids);
    assert.deepEqual(
      views.map((v) => v.attempts),
      [2, 2, 2],
    );
    // What the SDK's core said while the server was away came out as JSON log lines, like the rest.
    const text = (worker?.output() ?? '')
      .split('\n')
      .filter(
        (line) => line && !line.startsWith('{') && !line.startsWith('  ') && line !== 'hookflow is running',
      );
    assert.deepEqual(text, [], 'every log line is JSON');
  });

  it('answers 503 while Temporal is down; the publish repeated afterwards delivers once', async () => {
    h.receiver.script('/temporal-down', status(200));
    const ep = await api('POST', '/v1/endpoints', {
      url: h.receiver.url('/temporal-down'),
      event_types: ['t/temporal-down'],
    });
    secrets.push(ep.body.secret);
    const body = { event_type: 't/temporal-down', payload: { n: 1 }, idempotency_key: 'temporal-down-1' };
    // Down long enough for the readiness check (2 s) and the publish (the client retries for about 10 s).
    const restarting = h.stack.restartTemporal(20_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await api('GET', '/readyz', undefined, null)).body.temporal, false);
    const down = await api('POST', '/v1/events', body);
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.match(down.body.detail, /unavailable/);
    assert.ok(down.headers.get('retry-after'));
    await restarting;
    const again = await eventually(
      () => api('POST', '/v1/events', body),
      (r) => r.status !== 503,
      30_000,
    );
    assert.ok([200, 202].includes(again.status), JSON.stringify(again.body));
    await h.receiver.waitFor('/temporal-down', 1, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(h.receiver.on('/temporal-down').length, 1);
  });

  it('delivers through a FerretDB outage and the views catch up', async () => {
    h.receiver.script('/db-outage', (_req, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.end('ok');
      }, 300);
    });
    const ids = await publishTo('/db-outage', {}, 5);
    await h.receiver.waitFor('/db-outage', 1);
    await h.stack.restartFerretDB(3_000);
    await allSucceededConsistently(ids);
    // Each event reached the receiver; a send repeated across the outage keeps its webhook-id.
    const seen = new Set(h.receiver.on('/db-outage').map((r) => r.headers['webhook-id']));
    assert.equal(seen.size, 5);
  });

  it('makes one event of a publish repeated after its answer was lost', async () => {
    h.receiver.script('/lost-answer', status(200));
    const ep = await api('POST', '/v1/endpoints', {
      url: h.receiver.url('/lost-answer'),
      event_types: ['lost.answer'],
    });
    const body = JSON.stringify({ event_type: 'lost.answer', payload: { n: 1 }, idempotency_key: 'lost-1' });
    // The client sends the publish and drops the connection before the answer comes.
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${h.stack.baseUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
      });
      req.on('error', () => resolve());
      req.end(body, () => setTimeout(() => req.destroy(), 5));
      req.on('close', () => resolve());
    });
    const repeat = await eventually(
      () => api('POST', '/v1/events', JSON.parse(body)),
      (r) => r.status === 200 || r.status === 202,
    );
    const events = await api('GET', '/v1/events?event_type=lost.answer');
    assert.equal(events.body.data.length, 1);
    assert.equal(repeat.body.id, events.body.data[0].id);
    await h.receiver.waitFor('/lost-answer', 1);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(h.receiver.on('/lost-answer').length, 1);
    assert.equal((await api('GET', `/v1/deliveries?endpoint_id=${ep.body.id}`)).body.data.length, 1);
  });

  it('finishes a publish that died between storing the event and starting its deliveries', async () => {
    h.receiver.script('/half-published', status(200));
    const ep = await api('POST', '/v1/endpoints', {
      url: h.receiver.url('/half-published'),
      event_types: ['half'],
    });
    const project = (await api('GET', `/v1/endpoints/${ep.body.id}`)).body.project_id;
    // What a crash right after the insert leaves behind: the event, never dispatched.
    await Event.create({
      _id: newId('evt'),
      project_id: project,
      event_type: 'half',
      payload_json: '{"half":true}',
      idempotency_key: 'half-1',
      dedupe_key: 'half-1',
    });
    const repeat = await api('POST', '/v1/events', {
      event_type: 'half',
      payload: { half: true },
      idempotency_key: 'half-1',
    });
    assert.equal(repeat.status, 200);
    assert.equal(repeat.body.is_duplicate, true);
    assert.equal(repeat.body.deliveries.length, 1);
    const [req] = await h.receiver.waitFor('/half-published', 1);
    assert.equal(req.body, '{"half":true}');
  });

  it('finishes a bulk replay whose worker was SIGKILLed mid-operation, replaying each delivery once', async () => {
    const path = '/bulk-crash';
    h.receiver.script(path, status(400));
    const ep = await api('POST', '/v1/endpoints', { url: h.receiver.url(path), event_types: ['bulk.crash'] });
    secrets.push(ep.body.secret);
    const count = 80;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        api('POST', '/v1/events', { event_type: 'bulk.crash', payload: { i } }),
      ),
    );
    await eventually(
      () => api('GET', `/v1/deliveries?endpoint_id=${ep.body.id}&status=failed&limit=250`),
      (r) => r.body.data.length === count,
      60_000,
    );
    // Slow answers keep the operation busy long enough to kill its worker in the middle.
    h.receiver.script(path, (_req, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.end();
      }, 200);
    });
    const op = await api('POST', '/v1/deliveries/replay', {
      filter: { endpoint_id: ep.body.id, status: 'failed' },
    });
    await h.waitForOperation(op.body.id, (o) => o.done > 0);
    await restartWorker('SIGKILL');
    const done = await h.waitForOperation(op.body.id, (o) => o.status === 'completed', 90_000);
    assert.equal(done.done, count);
    assert.equal(done.replayed, count);
    // One replay delivery per original. An attempt in flight when the worker died is made again by the
    // next worker (at-least-once: same delivery, same webhook-id), so requests may outnumber deliveries.
    const replayDeliveries = async () => {
      const byOriginal = new Map<string, Set<string>>();
      for (const r of h.receiver.on(path)) {
        const original = r.headers['hookflow-replay-of'] as string | undefined;
        if (!original) continue;
        if (!byOriginal.has(original)) byOriginal.set(original, new Set());
        byOriginal.get(original)?.add(r.headers['hookflow-delivery-id'] as string);
      }
      return byOriginal;
    };
    await eventually(replayDeliveries, (m) => m.size === count, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    for (const [original, replays] of await replayDeliveries()) {
      assert.equal(replays.size, 1, `${original} was replayed by one delivery, not ${[...replays]}`);
    }
  });

  it('records as lost every attempt whose worker died before it was recorded, two deaths in a row', async () => {
    h.receiver.script('/two-deaths', status(200));
    const [id] = await publishTo('/two-deaths', {});
    await h.waitForStatus(id, 'succeeded');
    // As a reset run would find it had attempts 2 and 3 begun by workers that died before recording them
    // (the second one between counting its attempt and recording the first as lost).
    await Delivery.collection.updateOne(
      { _id: id as never },
      { $set: { status: 'in_progress', attempts: 3 } },
    );
    const view = (await Delivery.findById(id).lean()) as DeliveryDoc;
    const began = await beginAttempt(id, 'a-later-run', 'a-later-run:local:1', view);
    assert.ok(began !== 'cancelled');
    assert.equal(began.attempt, 4);
    const attempts = (await api('GET', `/v1/deliveries/${id}/attempts`)).body.data as {
      attempt: number;
      outcome: string;
    }[];
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.outcome]),
      [
        [1, '2xx'],
        [2, 'lost'],
        [3, 'lost'],
      ],
    );
  });

  it('never writes a signing secret to the worker logs', async () => {
    await restartWorker('SIGTERM');
    const all = logs.join('\n');
    assert.ok(all.includes('attempt finished'), 'the workers logged their attempts (at debug level and up)');
    assert.ok(secrets.length >= 3);
    for (const secret of secrets)
      assert.ok(!all.includes(secret.slice('whsec_'.length)), 'secret found in logs');
  });
});

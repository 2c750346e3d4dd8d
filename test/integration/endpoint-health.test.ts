// Endpoint health against the real servers: rate limits and places in flight that hold across two worker
// processes, the circuit breaker through a receiver outage (with a worker SIGKILLed while it is open),
// auto-disable and re-enabling, pausing. Figures are counted at the receiver, never timed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openCircuit, writeHealth } from '../../src/endpoint-health/circuit';
import { EndpointHealth } from '../../src/endpoint-health/model';
import { rateBurst } from '../../src/endpoint-health/settings';
import { Endpoint } from '../../src/endpoints/model';
import { circuitTransitions } from '../../src/metrics';
import { useStack } from '../helpers/harness';
import { eventually } from '../helpers/stack';
import { TimingReceiver } from '../helpers/timing-receiver';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const quiet = { LOG_LEVEL: 'warn' };

/** The most requests in any one-second window (each window starting at a request). */
function busiestSecond(requests: { at: number }[]): number {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j] < times[i] + 1000) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

/** Publishes `count` events of type `t<path>`, `concurrency` at a time; returns their delivery ids. */
async function publishMany(
  h: ReturnType<typeof useStack>,
  path: string,
  count: number,
  concurrency = 10,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = next++;
        ids[n] = (await h.publishTo(path, { n })).id;
      }
    }),
  );
  return ids;
}

describe('endpoint health', () => {
  // Deliveries are made by two worker processes (none in this one), to a receiver on its own thread: the
  // API and the publishing here hold up neither their timers nor the receiver's clock.
  const h = useStack({ project: 'health', worker: false });
  const timing = new TimingReceiver();
  const workers: WorkerProcess[] = [];
  before(async () => {
    await timing.start();
    workers.push(...(await Promise.all([spawnWorker(h.stack, quiet), spawnWorker(h.stack, quiet)])));
  });
  after(async () => {
    await Promise.all([...workers.map((w) => w.kill('SIGTERM')), timing.stop()]);
  });

  it('holds a rate limit across two worker processes, and waiting uses up no attempt', async () => {
    const path = '/limited';
    await h.createEndpoint(path, { url: timing.url(path), rate_limit_per_s: 10, retry: { max_attempts: 2 } });
    const ids = await publishMany(h, path, 200, 20);
    const received = await eventually(
      () => timing.arrivals(path),
      (a) => a.length >= 200,
      120_000,
    );
    assert.equal(new Set(received.map((a) => a.deliveryId)).size, 200);
    const most = busiestSecond(received);
    assert.ok(most <= 10 + rateBurst(10), `${most} requests in one second`);
    for (const id of ids.slice(-20)) {
      const d = await h.waitForStatus(id, 'succeeded');
      assert.equal(d.attempts, 1, 'a delivery held back by the limit made one attempt');
    }
  });

  it('keeps at most max_in_flight requests open at once, across workers', async () => {
    const path = '/one-at-a-time';
    let open = 0;
    let most = 0;
    h.receiver.script(path, (_req, res) => {
      open++;
      most = Math.max(most, open);
      setTimeout(() => {
        open--;
        res.writeHead(200).end();
      }, 150);
    });
    await h.createEndpoint(path, { max_in_flight: 2 });
    const ids = await publishMany(h, path, 16, 16);
    for (const id of ids) await h.waitForStatus(id, 'succeeded', 60_000);
    assert.equal(h.receiver.on(path).length, 16);
    assert.ok(most <= 2, `${most} requests in flight at once`);
    assert.equal(most, 2, 'the limit lets two go at once');
  });

  it('opens the breaker on a receiver that is down, probes it, and drains every delivery once it is back', async () => {
    const path = '/down';
    await timing.answer(path, 503);
    // Five attempts a second apart: without the breaker every delivery would fail within seconds.
    const endpoint = await h.createEndpoint(path, {
      url: timing.url(path),
      retry: { max_attempts: 5, initial_interval_ms: 1000, backoff_coefficient: 1 },
    });
    const downSince = Date.now();
    const ids = await publishMany(h, path, 1000, 20);
    const opened = await eventually(
      () => h.api('GET', `/v1/endpoints/${endpoint.id}`).then((r) => r.body),
      (e) => e.circuit.state !== 'closed',
      60_000,
    );
    const openedAt = Date.parse(opened.circuit.opened_at);

    // Where an operator looks: the metric and the Temporal UI's search attribute.
    const metrics = await (await fetch(`${h.stack.baseUrl}/metrics`)).text();
    assert.match(metrics, /hookflow_endpoint_circuits\{state="(open|half_open)"\} 1/);
    const health = await eventually(
      async () => {
        const found: string[] = [];
        for await (const wf of h.stack.client.workflow.list({
          query: `HookflowCircuitState IN ('open', 'half_open') AND ExecutionStatus = 'Running'`,
        }))
          found.push(wf.workflowId);
        return found;
      },
      (found) => found.includes(`endpoint-health-${endpoint.id}`),
    );
    assert.ok(health.length >= 1);

    // A worker dies while the breaker is open; another takes its place.
    await workers[0].kill('SIGKILL');
    workers[0] = await spawnWorker(h.stack, quiet);

    await new Promise((r) => setTimeout(r, Math.max(0, downSince + 60_000 - Date.now())));
    const whileDown = await timing.arrivals(path);
    await timing.answer(path, 200);
    // Attempts that passed the gate just before it opened may still land in its first seconds; the first
    // probe comes 5 s after it opened.
    const afterOpening = whileDown.filter((a) => a.at > openedAt + 4_000);
    const minutesOpen = (downSince + 60_000 - openedAt) / 60_000;
    assert.ok(
      afterOpening.length <= 5 * Math.ceil(minutesOpen),
      `${afterOpening.length} requests in ${minutesOpen.toFixed(1)} minutes of open breaker`,
    );
    assert.ok(whileDown.length < 300, `${whileDown.length} requests to a receiver that was down`);

    // Back up: a probe succeeds, the breaker closes, and every delivery arrives.
    const delivered = await eventually(
      async () => (await timing.arrivals(path)).filter((a) => a.status === 200),
      (a) => new Set(a.map((x) => x.deliveryId)).size >= 1000,
      240_000,
    );
    assert.deepEqual(new Set(delivered.map((a) => a.deliveryId)), new Set(ids));
    for (let i = 0; i < ids.length; i += 50) {
      const views = await Promise.all(ids.slice(i, i + 50).map((id) => h.waitForStatus(id, 'final', 60_000)));
      for (const v of views) assert.equal(v.status, 'succeeded', `${v.id}: ${v.last_error}`);
    }
    const closed = (await h.api('GET', `/v1/endpoints/${endpoint.id}`)).body.circuit;
    assert.equal(closed.state, 'closed');
    assert.equal(closed.last_probe_ok, true);

    // Drained oldest first: the first half delivered after the probe are mostly the older half.
    const order = new Map(ids.map((id, n) => [id, n]));
    const firstHalf = delivered.slice(1, 500).map((a) => order.get(a.deliveryId) ?? 0);
    const older = firstHalf.filter((n) => n < 500).length;
    assert.ok(older > 0.8 * firstHalf.length, `${older} of the first ${firstHalf.length} were older ones`);
  });

  it('disables an endpoint whose breaker stays open for disable_after_s; set active, its deliveries go on', async () => {
    const path = '/gone-quiet';
    await timing.answer(path, 503);
    const ops = await h.api('POST', '/v1/operational-endpoints', { url: h.receiver.url('/ops') });
    assert.equal(ops.status, 201);
    const endpoint = await h.createEndpoint(path, {
      url: timing.url(path),
      retry: { max_attempts: 3, initial_interval_ms: 500, backoff_coefficient: 1 },
      circuit_breaker: { min_attempts: 3, disable_after_s: 30 },
    });
    const ids = await publishMany(h, path, 6, 6);
    const disabled = await eventually(
      () => h.api('GET', `/v1/endpoints/${endpoint.id}`).then((r) => r.body),
      (e) => e.status === 'disabled',
      120_000,
    );
    assert.match(disabled.disabled_reason, /circuit breaker open since/);
    assert.equal(disabled.circuit.state, 'open');
    for (const id of ids)
      assert.ok(['pending', 'retrying'].includes((await h.delivery(id)).status), 'still waiting');
    const workflow = await h.stack.client.workflow.getHandle(`endpoint-health-${endpoint.id}`).query('state');
    assert.equal((workflow as { state: string }).state, 'disabled');

    await timing.answer(path, 200);
    const enabled = await h.api('PATCH', `/v1/endpoints/${endpoint.id}`, { status: 'active' });
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.disabled_reason, null);
    for (const id of ids) await h.waitForStatus(id, 'succeeded', 60_000);
    const circuit = (await h.api('GET', `/v1/endpoints/${endpoint.id}`)).body.circuit;
    assert.equal(circuit.state, 'closed');

    // The operational endpoint was told each step, signed.
    const told = await eventually(
      async () => h.receiver.on('/ops').map((r) => JSON.parse(r.body)),
      (events) => events.some((e) => e.type === 'endpoint.circuit_closed'),
    );
    const about = told.filter((e) => e.data.endpoint_id === endpoint.id);
    assert.deepEqual(
      about.map((e) => e.type),
      ['endpoint.circuit_opened', 'endpoint.disabled', 'endpoint.circuit_closed'],
    );
    assert.equal(about[1].data.trigger, 'circuit_breaker');
    assert.equal(about[2].data.closed_by, 'resume');
    assert.equal(about[0].data.opened_at, about[2].data.opened_at);
    for (const request of h.receiver.on('/ops')) h.verifySignature(ops.body.secret, request);
    await h.api('DELETE', `/v1/operational-endpoints/${ops.body.id}`);
  });

  it('holds the deliveries of a paused endpoint and lets them go when it is resumed', async () => {
    const path = '/paused-later';
    await timing.answer(path, 503);
    const endpoint = await h.createEndpoint(path, {
      url: timing.url(path),
      retry: { max_attempts: 3, initial_interval_ms: 1000 },
    });
    const delivery = await h.publishTo(path);
    await h.waitForStatus(delivery.id, 'retrying');
    await h.api('PATCH', `/v1/endpoints/${endpoint.id}`, { status: 'paused' });
    await timing.answer(path, 200);
    // Its next attempt found the endpoint paused: it waits, and made no request.
    const handle = h.stack.client.workflow.getHandle(`delivery-${delivery.id}`);
    await eventually(
      () => handle.query<{ heldBy: string | null }>('state'),
      (s) => s.heldBy === 'endpoint_paused',
    );
    assert.equal((await timing.arrivals(path)).length, 1);
    assert.equal((await h.delivery(delivery.id)).attempts, 1);

    await h.api('PATCH', `/v1/endpoints/${endpoint.id}`, { status: 'active' });
    const done = await h.waitForStatus(delivery.id, 'succeeded');
    assert.equal(done.attempts, 2);
    assert.equal((await timing.arrivals(path)).length, 2);
  });

  it('reads an endpoint’s breaker only once it has one, and always for endpoints made before the mark', async () => {
    const open = {
      state: 'open' as const,
      since: new Date(),
      opened_at: new Date(),
      probe_delivery_id: null,
    };
    const heldByBreaker = async (path: string) => {
      const delivery = await h.publishTo(path);
      const handle = h.stack.client.workflow.getHandle(`delivery-${delivery.id}`);
      await eventually(
        () => handle.query<{ heldBy: string | null }>('state'),
        (s) => s.heldBy === 'circuit_open',
      );
      assert.equal((await timing.arrivals(path)).length, 0);
    };

    // A new endpoint is marked as having no breaker state; the breaker's first write marks it.
    const fresh = await h.createEndpoint('/marked', { url: timing.url('/marked') });
    const raw = (id: string) => Endpoint.collection.findOne({ _id: id } as never);
    assert.equal((await raw(fresh.id))?.health_recorded, false);
    await writeHealth(fresh.id, h.projectId, { ...open, next_probe_at: new Date(Date.now() + 3_600_000) });
    assert.equal((await raw(fresh.id))?.health_recorded, true);
    await heldByBreaker('/marked');

    // Two workers tripping a breaker at once: one write opens it, and both report when it opened.
    const tripped = await h.createEndpoint('/tripped', { url: timing.url('/tripped') });
    const opens = async () =>
      (await circuitTransitions.get()).values.find((v) => v.labels.state === 'open')?.value ?? 0;
    const before = await opens();
    const trip = () => openCircuit(h.stack.client, h.stack.taskQueue, tripped.id, h.projectId);
    await Promise.all([trip(), trip(), trip()]);
    assert.equal((await opens()) - before, 1);

    // An endpoint stored before the mark existed (no field) with an open breaker: its attempts read it.
    const older = await h.createEndpoint('/unmarked', { url: timing.url('/unmarked') });
    await Endpoint.collection.updateOne({ _id: older.id } as never, { $unset: { health_recorded: '' } });
    await EndpointHealth.collection.updateOne(
      { _id: older.id } as never,
      { $set: { project_id: h.projectId, ...open, next_probe_at: new Date(Date.now() + 3_600_000) } },
      { upsert: true },
    );
    await heldByBreaker('/unmarked');
  });
});

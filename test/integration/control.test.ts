// Delivery control: cancel and retryNow signals mid-backoff, the replay family, bulk operations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useStack } from '../helpers/harness';
import { delayed, status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';

const HOUR = 3_600_000;
/** First backoff an hour: the workflow's own timer. */
const HOUR_FIRST = {
  max_attempts: 5,
  initial_interval_ms: HOUR,
  backoff_coefficient: 1,
  max_interval_ms: HOUR,
};
/**
 * First backoff 200 ms (the workflow's timer); then the receiver asks for an hour with Retry-After, which the
 * activity's RetryPolicy honours (nextRetryDelay): that backoff is inside Temporal's activity retry.
 */
const HOUR_SECOND = {
  max_attempts: 5,
  initial_interval_ms: 200,
  backoff_coefficient: 2,
  max_interval_ms: HOUR,
};
const failing = (n: number) => [
  status(500),
  ...Array.from({ length: n - 1 }, () => status(503, '', { 'retry-after': '3600' })),
];
const DELIVERY_FIELDS = [
  'id',
  'endpoint_id',
  'event_id',
  'event_type',
  'status',
  'attempts',
  'next_attempt_at',
  'last_attempt_at',
  'delivered_at',
  'last_status_code',
  'last_error',
  'replay_of_delivery_id',
  'created_at',
  'updated_at',
];

describe('delivery control', () => {
  const h = useStack({ project: 'control' });
  const { api, delivery } = h;

  /** An endpoint at `path` subscribed to `t<path>`, and one event published to it; returns the delivery. */
  async function deliver(path: string, retry?: object, endpointExtra: object = {}) {
    const endpoint = await h.createEndpoint(path, { ...(retry ? { retry } : {}), ...endpointExtra });
    const event = await h.publish({ event_type: `t${path}`, payload: { path } });
    return { endpoint, event, delivery: event.deliveries[0] };
  }

  it('cancels during the first attempt: its answer is recorded and no attempt follows', async () => {
    // The first attempt runs as a local activity inside a workflow task: the cancel signal reaches the
    // workflow once that attempt has answered.
    const path = '/cancel-in-flight';
    h.receiver.script(path, delayed(1_500, status(500)));
    const { delivery: d } = await deliver(path, { ...HOUR_SECOND, initial_interval_ms: 100 });
    await h.receiver.waitFor(path, 1);
    assert.equal((await delivery(d.id)).status, 'in_progress');
    assert.equal((await api('POST', `/v1/deliveries/${d.id}/cancel`)).status, 202);
    const view = await h.waitForStatus(d.id, 'cancelled');
    assert.equal(view.attempts, 1);
    const attempts = (await api('GET', `/v1/deliveries/${d.id}/attempts`)).body.data;
    assert.deepEqual(
      attempts.map((a: { status_code: number }) => a.status_code),
      [500],
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(h.receiver.on(path).length, 1, 'no request after the cancel');
  });

  for (const [code, outcome] of [
    [400, 'failed'],
    [200, 'succeeded'],
  ] as const) {
    it(`leaves ${outcome} a delivery whose attempt in flight ended it when a cancel came meanwhile`, async () => {
      // The answer ends the delivery before the workflow reads the cancel: a final status stands. The signal
      // usually lands while the local attempt's workflow task runs, which makes that task run again without
      // the attempt's result: the workflow then learns from the view how the delivery ended.
      const path = `/cancel-too-late-${code}`;
      h.receiver.script(path, delayed(1_500, status(code)));
      const { delivery: d } = await deliver(path, HOUR_SECOND);
      await h.receiver.waitFor(path, 1);
      assert.equal((await api('POST', `/v1/deliveries/${d.id}/cancel`)).status, 202);
      const result = await h.stack.client.workflow.getHandle(d.workflow_id).result();
      assert.equal(result.status, outcome);
      const view = await h.waitForStatus(d.id, 'final');
      assert.equal(view.status, outcome);
      assert.equal(view.last_status_code, code);
      assert.equal((await h.closedWorkflow(d.workflow_id)).status, outcome);
      assert.equal((await api('POST', `/v1/deliveries/${d.id}/cancel`)).status, 409);
      assert.equal(h.receiver.on(path).length, 1);
    });
  }

  for (const [label, retry, failedAttempts] of [
    ['the workflow timer', HOUR_FIRST, 1],
    ['the activity retry backoff', HOUR_SECOND, 2],
  ] as const) {
    it(`cancels at once during a 1-hour backoff in ${label}`, async () => {
      const path = `/cancel-${failedAttempts}`;
      h.receiver.script(path, ...failing(failedAttempts));
      const { delivery: d } = await deliver(path, retry);
      await eventually(
        () => delivery(d.id),
        (v) => v.status === 'retrying' && v.attempts === failedAttempts,
      );
      const res = await api('POST', `/v1/deliveries/${d.id}/cancel`);
      assert.equal(res.status, 202);
      const started = Date.now();
      const view = await h.waitForStatus(d.id, 'cancelled', 5_000);
      assert.ok(Date.now() - started < 5_000);
      assert.equal(view.next_attempt_at, null);
      const wf = await h.closedWorkflow(d.workflow_id);
      assert.equal(wf.description.status.name, 'COMPLETED');
      assert.equal(wf.status, 'cancelled');
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(h.receiver.on(path).length, failedAttempts, 'no request after the cancel');
      const again = await api('POST', `/v1/deliveries/${d.id}/cancel`);
      assert.equal(again.status, 409);
    });

    it(`retries now during a 1-hour backoff in ${label}`, async () => {
      const path = `/retry-now-${failedAttempts}`;
      h.receiver.script(path, ...failing(failedAttempts), status(200));
      const { delivery: d } = await deliver(path, retry);
      const retrying = await eventually(
        () => delivery(d.id),
        (v) => v.status === 'retrying' && v.attempts === failedAttempts,
      );
      assert.ok(
        new Date(retrying.next_attempt_at).getTime() - Date.now() > 30 * 60_000,
        'next attempt is an hour away',
      );
      const state = await h.stack.client.workflow.getHandle(d.workflow_id).query('state');
      assert.equal((state as { status: string }).status, 'retrying');
      const signalled = Date.now();
      assert.equal((await api('POST', `/v1/deliveries/${d.id}/retry`)).status, 202);
      const requests = await h.receiver.waitFor(path, failedAttempts + 1, 5_000);
      const waited = requests[failedAttempts].at - signalled;
      assert.ok(waited < 1_500, `next attempt came ${waited} ms after retryNow`);
      const view = await h.waitForStatus(d.id, 'succeeded');
      assert.equal(view.attempts, failedAttempts + 1);
      assert.equal(requests[failedAttempts].headers['hookflow-attempt'], String(failedAttempts + 1));
      assert.equal((await api('POST', `/v1/deliveries/${d.id}/retry`)).status, 409);
    });
  }

  it('keeps counting attempts against max_attempts after a retryNow', async () => {
    const path = '/retry-now-budget';
    h.receiver.script(path, ...failing(2));
    const retry = { ...HOUR_SECOND, max_attempts: 3 };
    const { delivery: d } = await deliver(path, retry);
    await eventually(
      () => delivery(d.id),
      (v) => v.status === 'retrying' && v.attempts === 2,
    );
    assert.equal((await api('POST', `/v1/deliveries/${d.id}/retry`)).status, 202);
    const view = await h.waitForStatus(d.id, 'failed');
    assert.equal(view.attempts, 3, 'the retried attempt was the last of three');
    assert.equal(h.receiver.on(path).length, 3);
  });

  it('replays a delivery as a new one with lineage, every delivery field and the replay header', async () => {
    const path = '/replay-one';
    const { endpoint, event, delivery: d } = await deliver(path);
    await h.waitForStatus(d.id, 'succeeded');
    const res = await api('POST', `/v1/deliveries/${d.id}/replay`);
    assert.equal(res.status, 202);
    for (const field of DELIVERY_FIELDS) assert.ok(field in res.body, `response carries ${field}`);
    assert.notEqual(res.body.id, d.id);
    assert.equal(res.body.replay_of_delivery_id, d.id);
    assert.equal(res.body.trigger, 'replay');
    assert.equal(res.body.event_id, event.id);
    const [, replayed] = await h.receiver.waitFor(path, 2);
    assert.equal(replayed.headers['hookflow-replay-of'], d.id);
    assert.equal(replayed.headers['hookflow-delivery-id'], res.body.id);
    assert.equal(replayed.headers['webhook-id'], event.id, 'same webhook-id so receivers can dedupe');
    h.verifySignature(endpoint.secret, replayed);
    const original = await delivery(d.id);
    assert.equal(original.status, 'succeeded');
    assert.equal(original.attempts, 1, 'the original is not rewritten');
  });

  it("resends one event to one endpoint (Violet's resend), 404 for unknown or foreign pairs", async () => {
    const path = '/resend';
    const { endpoint, event, delivery: d } = await deliver(path);
    await h.receiver.waitFor(path, 1);
    const res = await api('POST', `/v1/endpoints/${endpoint.id}/events/${event.id}/resend`);
    assert.equal(res.status, 202);
    assert.equal(res.body.trigger, 'resend');
    assert.equal(res.body.replay_of_delivery_id, d.id);
    const [, resent] = await h.receiver.waitFor(path, 2);
    assert.equal(resent.headers['hookflow-replay-of'], d.id);
    assert.equal(resent.body, JSON.stringify({ path }));

    const other = await h.stack.newProject('other');
    const foreign = await api(
      'POST',
      `/v1/endpoints/${endpoint.id}/events/${event.id}/resend`,
      undefined,
      other.key,
    );
    assert.equal(foreign.status, 404);
    const unknown = await api('POST', `/v1/endpoints/${endpoint.id}/events/evt_00000000000000000000/resend`);
    assert.equal(unknown.status, 404);
  });

  it("replays an event afresh to every endpoint subscribed now (Convoy's replay)", async () => {
    const path = '/event-replay';
    const { event, delivery: d } = await deliver(path);
    await h.receiver.waitFor(path, 1);
    // Subscribed after the event was published: the replay reaches it too.
    const late = await api('POST', '/v1/endpoints', {
      url: h.receiver.url('/event-replay-late'),
      event_types: [`t${path}`],
    });
    const res = await api('POST', `/v1/events/${event.id}/replay`);
    assert.equal(res.status, 202);
    const byEndpoint = new Map(res.body.deliveries.map((x: { endpoint_id: string }) => [x.endpoint_id, x]));
    assert.equal(byEndpoint.size, 2);
    assert.equal(
      (byEndpoint.get(d.endpoint_id) as { replay_of_delivery_id: string }).replay_of_delivery_id,
      d.id,
    );
    assert.equal(
      (byEndpoint.get(late.body.id) as { replay_of_delivery_id: string | null }).replay_of_delivery_id,
      null,
    );
    await h.receiver.waitFor(path, 2);
    await h.receiver.waitFor('/event-replay-late', 1);
  });

  it('refuses replays to a paused or disabled endpoint with 409', async () => {
    const path = '/paused-replay';
    const { endpoint, event, delivery: d } = await deliver(path);
    await h.receiver.waitFor(path, 1);
    for (const state of ['paused', 'disabled']) {
      await api('PATCH', `/v1/endpoints/${endpoint.id}`, { status: state });
      for (const [method, route, body] of [
        ['POST', `/v1/deliveries/${d.id}/replay`],
        ['POST', `/v1/endpoints/${endpoint.id}/events/${event.id}/resend`],
        ['POST', `/v1/endpoints/${endpoint.id}/recover`, { since: '2020-01-01T00:00:00Z' }],
        ['POST', '/v1/deliveries/replay', { filter: { endpoint_id: endpoint.id } }],
      ] as const) {
        const res = await api(method, route, body);
        assert.equal(res.status, 409, `${route} with ${state} endpoint`);
        assert.match(res.body.detail, /active/);
      }
    }
  });

  it('bulk-replays a few hundred failed deliveries once the receiver is fixed, each exactly once', async () => {
    const path = '/bulk';
    h.receiver.script(path, status(400));
    const ep = await api('POST', '/v1/endpoints', { url: h.receiver.url(path), event_types: ['bulk.test'] });
    const count = 200;
    for (let i = 0; i < count; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) =>
        api('POST', '/v1/events', { event_type: 'bulk.test', payload: { i: i + j } }),
      );
      for (const res of await Promise.all(batch)) assert.equal(res.status, 202);
    }
    await eventually(
      () => api('GET', `/v1/deliveries?endpoint_id=${ep.body.id}&status=failed&limit=250`),
      (r) => r.body.data.length === count,
      60_000,
    );
    h.receiver.script(path, status(200));
    const started = await api('POST', '/v1/deliveries/replay', {
      filter: { endpoint_id: ep.body.id, status: 'failed' },
    });
    assert.equal(started.status, 202);
    const op = await h.waitForOperation(started.body.id, (o) => o.status === 'completed', 120_000);
    assert.equal(op.total, count);
    assert.equal(op.done, count);
    assert.equal(op.replayed, count);
    assert.equal(op.failed, 0);
    // 200 deliveries in pages of 7 is 29 pages: the workflow continued as new at least once.
    const ok = await h.receiver.waitFor(path, 2 * count, 120_000);
    const replayOf = ok.slice(count).map((r) => r.headers['hookflow-replay-of']);
    assert.equal(new Set(replayOf).size, count, 'every failed delivery replayed exactly once');
    const replays = await eventually(
      () => api('GET', `/v1/deliveries?endpoint_id=${ep.body.id}&status=succeeded&limit=250`),
      (r) => r.body.data.length === count,
      60_000,
    );
    assert.ok(replays.body.data.every((d: { trigger: string }) => d.trigger === 'replay'));
    assert.equal((await api('POST', `/v1/operations/${op.id}/cancel`)).status, 409);
  });

  it('recovers an endpoint: failed deliveries in the window are replayed as recover', async () => {
    const path = '/recover';
    h.receiver.script(path, status(404));
    const { endpoint, delivery: d } = await deliver(path);
    await h.waitForStatus(d.id, 'failed');
    h.receiver.script(path, status(204));
    const empty = await api('POST', `/v1/endpoints/${endpoint.id}/recover`, {
      since: '2999-01-01T00:00:00Z',
    });
    const none = await h.waitForOperation(empty.body.id, (o) => o.status === 'completed');
    assert.equal(none.total, 0);
    const res = await api('POST', `/v1/endpoints/${endpoint.id}/recover`, {
      since: new Date(Date.now() - HOUR).toISOString(),
    });
    assert.equal(res.status, 202);
    assert.equal(res.body.kind, 'recover');
    const op = await h.waitForOperation(res.body.id, (o) => o.status === 'completed');
    assert.equal(op.replayed, 1);
    const [, recovered] = await h.receiver.waitFor(path, 2);
    assert.equal(recovered.headers['hookflow-replay-of'], d.id);
    const list = await api('GET', `/v1/deliveries?endpoint_id=${endpoint.id}`);
    assert.ok(list.body.data.some((x: { trigger: string }) => x.trigger === 'recover'));
  });

  it('cancels a running bulk operation', async () => {
    const path = '/bulk-cancel';
    h.receiver.script(path, status(400));
    const ep = await api('POST', '/v1/endpoints', {
      url: h.receiver.url(path),
      event_types: ['bulk.cancel'],
    });
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api('POST', '/v1/events', { event_type: 'bulk.cancel', payload: { i } }),
      ),
    );
    await eventually(
      () => api('GET', `/v1/deliveries?endpoint_id=${ep.body.id}&status=failed&limit=250`),
      (r) => r.body.data.length === 60,
      60_000,
    );
    const started = await api('POST', '/v1/deliveries/replay', { filter: { endpoint_id: ep.body.id } });
    const cancel = await api('POST', `/v1/operations/${started.body.id}/cancel`);
    assert.equal(cancel.status, 202);
    const op = await h.waitForOperation(started.body.id, (o) => o.status !== 'running');
    assert.equal(op.status, 'cancelled');
    assert.ok(op.done < 60, `stopped early (${op.done} of 60 done)`);
  });
});

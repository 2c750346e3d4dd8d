// Operational webhooks: hookflow's own events, signed and delivered to a project's operational endpoints by
// the same workflows as any event, visible as deliveries, never raising operational events about themselves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';

describe('operational webhooks', () => {
  const h = useStack({ project: 'operational' });

  /** The operational events `path` received, parsed, of `type`. */
  const received = (path: string, type: string) =>
    h.receiver
      .on(path)
      .map((r) => JSON.parse(r.body))
      .filter((p) => p.type === type);

  it('are managed apart from endpoints, for the project key only', async () => {
    const created = await h.api('POST', '/v1/operational-endpoints', { url: h.receiver.url('/ops-crud') });
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^oep_/);
    assert.match(created.body.secret, /^whsec_/);
    const id = created.body.id;
    const listed = (await h.api('GET', '/v1/operational-endpoints')).body.data.map(
      (e: { id: string }) => e.id,
    );
    assert.ok(listed.includes(id));
    const endpoints = (await h.api('GET', '/v1/endpoints?limit=250')).body.data.map(
      (e: { id: string }) => e.id,
    );
    assert.ok(!endpoints.includes(id), 'not among the endpoints');
    assert.equal((await h.api('GET', `/v1/endpoints/${id}`)).status, 422);
    assert.equal(
      (await h.api('PATCH', `/v1/operational-endpoints/${id}`, { status: 'paused' })).body.status,
      'paused',
    );
    const other = await h.createProject('other');
    assert.equal((await h.api('GET', `/v1/operational-endpoints/${id}`, undefined, other.key)).status, 404);
    const refused = await h.api('POST', '/v1/operational-endpoints', { url: 'ftp://x', consumer_id: 'c' });
    assert.equal(refused.status, 422);
    // No breaker for them: a setting that would not be honoured is refused.
    const breaker = { circuit_breaker: { min_attempts: 5 } };
    const withBreaker = await h.api('POST', '/v1/operational-endpoints', {
      url: h.receiver.url('/x'),
      ...breaker,
    });
    assert.equal(withBreaker.status, 422);
    assert.deepEqual(withBreaker.body.detail[0].loc, ['body']);
    assert.equal((await h.api('PATCH', `/v1/operational-endpoints/${id}`, breaker)).status, 422);
    assert.equal((await h.api('DELETE', `/v1/operational-endpoints/${id}`)).status, 204);
  });

  it('tell of a failed delivery and of an endpoint a 410 disabled, signed, as deliveries of their own', async () => {
    h.receiver.script('/ops', status(200));
    const ops = await h.api('POST', '/v1/operational-endpoints', {
      url: h.receiver.url('/ops'),
      event_types: ['delivery.exhausted', 'endpoint.disabled'],
    });
    // An operational endpoint that fails: its own failure raises nothing more.
    h.receiver.script('/ops-broken', status(400));
    await h.api('POST', '/v1/operational-endpoints', { url: h.receiver.url('/ops-broken') });

    h.receiver.script('/refuses', status(400));
    await h.createEndpoint('/refuses');
    const failed = await h.publishTo('/refuses');
    await h.waitForStatus(failed.id, 'failed');
    const [exhausted] = await eventually(
      async () => received('/ops', 'delivery.exhausted'),
      (events) => events.length >= 1,
    );
    assert.equal(exhausted.data.delivery_id, failed.id);
    assert.equal(exhausted.data.event_type, 't/refuses');
    assert.equal(exhausted.data.last_error, 'HTTP 400');
    const request = h.receiver.on('/ops')[0];
    assert.equal(request.headers['hookflow-event-type'], 'delivery.exhausted');
    h.verifySignature(ops.body.secret, request);

    h.receiver.script('/gone', status(410));
    const gone = await h.createEndpoint('/gone');
    const goneDelivery = await h.publishTo('/gone');
    await h.waitForStatus(goneDelivery.id, 'failed');
    const [disabled] = await eventually(
      async () => received('/ops', 'endpoint.disabled'),
      (events) => events.length >= 1,
    );
    assert.deepEqual(disabled.data, {
      endpoint_id: gone.id,
      consumer_id: null,
      reason: 'receiver answered 410 Gone',
      trigger: 'gone',
    });

    // Visible as deliveries; the broken operational endpoint's failures raised no delivery.exhausted.
    const deliveries = await eventually(
      () => h.api('GET', '/v1/deliveries?event_type=delivery.exhausted&limit=250').then((r) => r.body.data),
      (d) => d.filter((x: { status: string }) => x.status === 'failed').length >= 2,
    );
    assert.equal(deliveries.length, 4, 'two failed deliveries, each to two operational endpoints');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(received('/ops', 'delivery.exhausted').length, 2);
  });

  it('tell of a bulk replay done', async () => {
    h.receiver.script('/ops-bulk', status(200));
    await h.api('POST', '/v1/operational-endpoints', {
      url: h.receiver.url('/ops-bulk'),
      event_types: ['operation.completed'],
    });
    h.receiver.script('/bulk', status(200));
    const endpoint = await h.createEndpoint('/bulk');
    const first = await h.publishTo('/bulk');
    await h.waitForStatus(first.id, 'succeeded');
    const started = await h.api('POST', '/v1/deliveries/replay', { filter: { endpoint_id: endpoint.id } });
    assert.equal(started.status, 202);
    const [done] = await eventually(
      async () => received('/ops-bulk', 'operation.completed'),
      (events) => events.length >= 1,
    );
    assert.deepEqual(done.data, {
      operation_id: started.body.id,
      kind: 'replay',
      status: 'completed',
      total: 1,
      replayed: 1,
      skipped: 0,
      failed: 0,
    });
  });
});

// Consumers: a project's customers, each owning endpoints. Named by id or by the caller's uid, isolated per
// project, and followed through publishes, deliveries, lists, bulk replays, Temporal and deletion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SearchAttributes } from '../../src/delivery-contract';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';

const FAST = { max_attempts: 5, initial_interval_ms: 300, backoff_coefficient: 1, max_interval_ms: 300 };

describe('consumers', () => {
  const h = useStack({ project: 'consumers' });
  const { api } = h;

  async function consumer(name: string, uid?: string) {
    const res = await api('POST', '/v1/consumers', {
      name,
      ...(uid ? { uid } : {}),
      metadata: { plan: 'pro' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; uid: string | null };
  }

  it('creates, reads by id or uid, lists, updates and refuses what it cannot take', async () => {
    const acme = await consumer('Acme', 'acme-inc');
    assert.match(acme.id, /^con_/);
    assert.equal(acme.uid, 'acme-inc');
    for (const ref of [acme.id, 'acme-inc']) {
      const got = await api('GET', `/v1/consumers/${ref}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, (await api('GET', `/v1/consumers/${acme.id}`)).body);
      assert.deepEqual(got.body.metadata, { plan: 'pro' });
    }
    assert.equal((await api('POST', '/v1/consumers', { name: 'again', uid: 'acme-inc' })).status, 409);
    for (const uid of ['has space', 'con_0123456789abcdefghjk', '', 'x'.repeat(129)]) {
      const res = await api('POST', '/v1/consumers', { name: 'bad', uid });
      assert.equal(res.status, 422, uid);
      assert.deepEqual(res.body.detail[0].loc, ['body', 'uid']);
    }
    assert.equal((await api('GET', '/v1/consumers/nobody-here')).status, 404);

    // Another project neither sees it by id nor by uid, and may use the same uid for its own customer.
    const other = await h.createProject('other');
    assert.equal((await api('GET', `/v1/consumers/${acme.id}`, undefined, other.key)).status, 404);
    assert.equal((await api('GET', '/v1/consumers/acme-inc', undefined, other.key)).status, 404);
    assert.equal((await api('DELETE', `/v1/consumers/${acme.id}`, undefined, other.key)).status, 404);
    assert.equal(
      (await api('POST', '/v1/consumers', { name: 'theirs', uid: 'acme-inc' }, other.key)).status,
      201,
    );

    // A new uid replaces the old one; null removes it, and the id keeps working.
    const renamed = await api('PATCH', '/v1/consumers/acme-inc', { name: 'Acme Corp', uid: 'acme-corp' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.name, 'Acme Corp');
    assert.equal((await api('GET', '/v1/consumers/acme-inc')).status, 404);
    assert.equal((await api('GET', '/v1/consumers/acme-corp')).body.id, acme.id);
    const taken = await consumer('Taken', 'taken-uid');
    assert.equal((await api('PATCH', `/v1/consumers/${taken.id}`, { uid: 'acme-corp' })).status, 409);
    assert.equal((await api('PATCH', `/v1/consumers/${taken.id}`, {})).status, 422);
    assert.equal((await api('PATCH', `/v1/consumers/${acme.id}`, { uid: null })).body.uid, null);
    assert.equal((await api('GET', `/v1/consumers/${acme.id}`)).status, 200);

    // Lists page newest first.
    const first = await api('GET', '/v1/consumers?limit=1');
    assert.deepEqual(
      first.body.data.map((c: { id: string }) => c.id),
      [taken.id],
    );
    const second = await api('GET', `/v1/consumers?limit=1&cursor=${first.body.next_cursor}`);
    assert.deepEqual(
      second.body.data.map((c: { id: string }) => c.id),
      [acme.id],
    );
  });

  it('delivers an event published to a consumer to its endpoints only, and follows it everywhere', async () => {
    const [a, b] = [await consumer('A', 'route-a'), await consumer('B', 'route-b')];
    const epA = await h.createEndpoint('/route-a', { event_types: ['route.test'], consumer_id: 'route-a' });
    const epB = await h.createEndpoint('/route-b', { event_types: ['route.test'], consumer_id: b.id });
    const own = await h.createEndpoint('/route-own', { event_types: ['route.test'] });
    assert.equal(epA.consumer_id, a.id, 'a uid is stored as the consumer id');
    assert.equal(own.consumer_id, null);
    const unknown = await api('POST', '/v1/endpoints', {
      url: h.receiver.url('/x'),
      consumer_id: 'no-such-consumer',
    });
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.body.detail[0].loc, ['body', 'consumer_id']);
    const listed = await api('GET', '/v1/endpoints?consumer_id=route-a');
    assert.deepEqual(
      listed.body.data.map((e: { id: string }) => e.id),
      [epA.id],
    );
    assert.equal((await api('GET', '/v1/endpoints?consumer_id=no-such-consumer')).status, 404);

    const toA = await h.publish({ event_type: 'route.test', payload: { to: 'a' }, consumer_id: 'route-a' });
    assert.equal(toA.consumer_id, a.id);
    assert.deepEqual(
      toA.deliveries.map((d: { endpoint_id: string; consumer_id: string }) => [d.endpoint_id, d.consumer_id]),
      [[epA.id, a.id]],
    );
    const toAll = await h.publish({ event_type: 'route.test', payload: { to: 'all' } });
    assert.equal(toAll.deliveries.length, 3);
    assert.equal(toAll.consumer_id, null);
    for (const d of [...toA.deliveries, ...toAll.deliveries]) await h.waitForStatus(d.id, 'succeeded');
    assert.equal(h.receiver.on('/route-a').length, 2);
    assert.equal(h.receiver.on('/route-b').length, 1);
    assert.equal(h.receiver.on('/route-own').length, 1);

    const foreign = await api('POST', '/v1/events', {
      event_type: 'route.test',
      payload: {},
      consumer_id: a.id,
      endpoint_ids: [epB.id],
    });
    assert.equal(foreign.status, 422);
    assert.deepEqual(foreign.body.detail[0].loc, ['body', 'endpoint_ids', 0]);

    // Lists by consumer: deliveries (by id or uid) and events.
    const deliveries = await api('GET', '/v1/deliveries?consumer_id=route-a&limit=250');
    assert.equal(deliveries.body.data.length, 2);
    assert.ok(deliveries.body.data.every((d: { consumer_id: string }) => d.consumer_id === a.id));
    const events = await api('GET', `/v1/events?consumer_id=${a.id}`);
    assert.deepEqual(
      events.body.data.map((e: { id: string }) => e.id),
      [toA.id],
    );
    assert.equal((await api('GET', '/v1/deliveries?consumer_id=no-such-consumer')).status, 404);

    // In Temporal: the consumer's id as a search attribute, on its deliveries only.
    const { description } = await h.closedWorkflow(toA.deliveries[0].workflow_id);
    assert.equal(description.typedSearchAttributes.get(SearchAttributes.consumerId), a.id);
    const ownDelivery = toAll.deliveries.find((d: { endpoint_id: string }) => d.endpoint_id === own.id);
    const ownWorkflow = await h.closedWorkflow(ownDelivery.workflow_id);
    assert.equal(ownWorkflow.description.typedSearchAttributes.get(SearchAttributes.consumerId), undefined);
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const wf of h.stack.client.workflow.list({ query: `HookflowConsumerId = '${a.id}'` }))
          ids.push(wf.workflowId);
        return ids;
      },
      (ids) => ids.length === 2,
    );
    assert.ok(found.includes(toA.deliveries[0].workflow_id));
  });

  it('replays in bulk one consumer’s failed deliveries, no other’s', async () => {
    const [a, b] = [await consumer('Bulk A', 'bulk-a'), await consumer('Bulk B', 'bulk-b')];
    const ids: string[] = [];
    for (const [path, c] of [
      ['/bulk-a', a.id],
      ['/bulk-b', b.id],
    ]) {
      h.receiver.script(path, status(400));
      await h.createEndpoint(path, { consumer_id: c });
      ids.push((await h.publishTo(path)).id);
    }
    for (const id of ids) await h.waitForStatus(id, 'failed');
    h.receiver.script('/bulk-a', status(200));
    const started = await api('POST', '/v1/deliveries/replay', {
      filter: { consumer_id: 'bulk-a', status: 'failed' },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.filter.consumer_id, a.id);
    const op = await h.waitForOperation(started.body.id, (o) => o.status === 'completed', 60_000);
    assert.equal(op.total, 1);
    assert.equal(op.replayed, 1);
    await h.receiver.waitFor('/bulk-a', 2);
    assert.equal(h.receiver.on('/bulk-b').length, 1);
    const unknown = await api('POST', '/v1/deliveries/replay', { filter: { consumer_id: 'nobody' } });
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.body.detail[0].loc, ['body', 'filter', 'consumer_id']);
  });

  it('deletes a consumer with its endpoints; their pending deliveries stop', async () => {
    const gone = await consumer('Leaving', 'leaving');
    h.receiver.script('/leaving', status(500));
    const ep = await h.createEndpoint('/leaving', { consumer_id: gone.id, retry: FAST });
    const d = await h.publishTo('/leaving');
    await h.waitForStatus(d.id, 'retrying');
    assert.equal((await api('DELETE', '/v1/consumers/leaving')).status, 204);
    assert.equal((await api('GET', `/v1/consumers/${gone.id}`)).status, 404);
    assert.equal((await api('GET', `/v1/endpoints/${ep.id}`)).status, 404);
    const view = await h.waitForStatus(d.id, 'failed');
    assert.equal(view.last_error, 'endpoint was deleted');
    assert.equal((await api('DELETE', `/v1/consumers/${gone.id}`)).status, 404);
  });
});

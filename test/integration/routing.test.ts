// Routing: which endpoints an event reaches, by wildcard subscriptions and channels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useStack } from '../helpers/harness';

describe('routing', () => {
  const h = useStack({ project: 'routing' });

  /** The endpoints (by their path) an event of `type` on `channels` reached. */
  async function recipients(endpoints: Record<string, { id: string }>, type: string, channels?: string[]) {
    const event = await h.publish({ event_type: type, payload: {}, ...(channels ? { channels } : {}) });
    const byId = Object.fromEntries(Object.entries(endpoints).map(([path, e]) => [e.id, path]));
    return event.deliveries.map((d: { endpoint_id: string }) => byId[d.endpoint_id]).sort();
  }

  it('delivers by wildcard subscriptions and channels', async () => {
    const endpoints = {
      orders: await h.createEndpoint('/orders', { event_types: ['order.*'] }),
      items: await h.createEndpoint('/items', { event_types: ['order.item.*'] }),
      paid: await h.createEndpoint('/paid', { event_types: ['order.paid'] }),
      all: await h.createEndpoint('/all', { event_types: ['*'] }),
      eu: await h.createEndpoint('/eu', { event_types: ['order.*'], channels: ['eu'] }),
    };
    assert.deepEqual(await recipients(endpoints, 'order.paid'), ['all', 'orders', 'paid']);
    assert.deepEqual(await recipients(endpoints, 'order.item.added', ['eu', 'us']), [
      'all',
      'eu',
      'items',
      'orders',
    ]);
    assert.deepEqual(await recipients(endpoints, 'order.paid', ['us']), ['all', 'orders', 'paid']);
    assert.deepEqual(await recipients(endpoints, 'order', ['eu']), ['all']);
    const event = await h.publish({ event_type: 'order.shipped', payload: {}, channels: ['eu'] });
    assert.deepEqual(event.channels, ['eu']);
    // Event replay goes by the same rules, channels included.
    const replay = await h.api('POST', `/v1/events/${event.id}/replay`);
    assert.equal(replay.status, 202);
    assert.equal(replay.body.deliveries.length, 3);
    // A test event to an endpoint that only takes a pattern gets a type of it.
    const test = await h.api('POST', `/v1/endpoints/${endpoints.items.id}/test`, {});
    assert.equal(test.body.event_type, 'order.item.test');
    await h.waitForStatus(test.body.deliveries[0].id, 'succeeded');
  });

  it('refuses malformed patterns and channels with 422, storing nothing', async () => {
    for (const [body, loc] of [
      [{ event_types: ['order.*.paid'] }, ['event_types', 0]],
      [{ event_types: ['ord*'] }, ['event_types', 0]],
      [{ event_types: ['**'] }, ['event_types', 0]],
      [{ channels: ['e u'] }, ['channels', 0]],
    ] as const) {
      const res = await h.api('POST', '/v1/endpoints', { url: h.receiver.url('/bad'), ...body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.deepEqual(res.body.detail[0].loc, ['body', ...loc]);
    }
    const tooMany = await h.api('POST', '/v1/events', {
      event_type: 'x.y',
      payload: {},
      channels: Array.from({ length: 11 }, (_, n) => `c${n}`),
    });
    assert.equal(tooMany.status, 422);
    assert.deepEqual(tooMany.body.detail[0].loc, ['body', 'channels']);
    const wildcardEvent = await h.api('POST', '/v1/events', { event_type: 'order.*', payload: {} });
    assert.equal(wildcardEvent.status, 422, 'an event has a type, not a pattern');
  });
});

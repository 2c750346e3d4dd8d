// Routing: which endpoints an event reaches (wildcard subscriptions, channels), the event-type catalogue, and
// deliveries scheduled for later.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SearchAttributes } from '../../src/delivery-contract';
import { useStack } from '../helpers/harness';
import { spawnWorker } from '../helpers/worker-process';

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

  it('delivers by payload filter, tests a filter, and refuses bad filters with where', async () => {
    const filter = {
      $or: [{ 'payload.total': { $gte: 100 } }, { 'payload.items.sku': { $regex: '^vip-', $options: 'i' } }],
      'headers.x-region': { $in: ['eu', 'ch'] },
    };
    const big = await h.createEndpoint('/big', { event_types: ['sale.*'], filter });
    assert.deepEqual(big.filter, filter);
    const everyone = await h.createEndpoint('/everyone', { event_types: ['sale.*'] });
    const targets = async (payload: object, headers: Record<string, string> = { 'x-region': 'eu' }) =>
      (await h.publish({ event_type: 'sale.made', payload, headers })).deliveries
        .map((d: { endpoint_id: string }) =>
          d.endpoint_id === big.id ? 'big' : d.endpoint_id === everyone.id ? 'everyone' : 'earlier test',
        )
        .filter((name: string) => name !== 'earlier test')
        .sort();
    assert.deepEqual(await targets({ total: 150 }), ['big', 'everyone']);
    assert.deepEqual(await targets({ total: 5, items: [{ sku: 'a' }, { sku: 'VIP-1' }] }), [
      'big',
      'everyone',
    ]);
    assert.deepEqual(await targets({ total: 5, items: [{ sku: 'a' }] }), ['everyone']);
    assert.deepEqual(await targets({ total: 150 }, { 'x-region': 'us' }), ['everyone']);

    const tried = await h.api('POST', `/v1/endpoints/${big.id}/filter/test`, {
      payload: { total: 99 },
      headers: { 'x-region': 'ch' },
    });
    assert.deepEqual(tried.body, { matches: false, filter });
    const other = await h.api('POST', `/v1/endpoints/${big.id}/filter/test`, {
      payload: { total: 99 },
      filter: { 'payload.total': { $lt: 100 } },
    });
    assert.equal(other.body.matches, true);

    for (const [bad, loc] of [
      [{ 'payload.total': { $where: '1' } }, ['filter', 'payload.total', '$where']],
      [{ 'payload.s': { $regex: '(a)\\1' } }, ['filter', 'payload.s', '$regex']],
      [{ total: 1 }, ['filter', 'total']],
    ] as const) {
      const res = await h.api('PATCH', `/v1/endpoints/${big.id}`, { filter: bad });
      assert.equal(res.status, 422, JSON.stringify(bad));
      assert.deepEqual(res.body.detail[0].loc, ['body', ...loc]);
    }
    assert.deepEqual((await h.api('GET', `/v1/endpoints/${big.id}`)).body.filter, filter, 'unchanged');
    assert.equal((await h.api('PATCH', `/v1/endpoints/${big.id}`, { filter: null })).body.filter, null);
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

describe('the event-type catalogue', () => {
  const h = useStack({ project: 'catalogue' });
  const orderSchema = {
    type: 'object',
    required: ['items'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['sku'],
          properties: { sku: { type: 'string' }, qty: { type: 'integer' } },
        },
      },
    },
  };

  it('keeps event types with a schema and examples, checked when saved', async () => {
    const created = await h.api('POST', '/v1/event-types', {
      name: 'order.placed',
      description: 'An order was placed',
      schema: orderSchema,
      examples: [{ items: [{ sku: 'a-1', qty: 2 }] }],
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.version, 1);
    assert.deepEqual(created.body.schema, orderSchema);
    assert.equal((await h.api('POST', '/v1/event-types', { name: 'order.placed' })).status, 409);
    const badSchema = await h.api('POST', '/v1/event-types', { name: 'x.bad', schema: { type: 'thing' } });
    assert.equal(badSchema.status, 422);
    assert.equal(badSchema.body.detail[0].loc[1], 'schema');
    const badExample = await h.api('POST', '/v1/event-types', {
      name: 'x.example',
      schema: orderSchema,
      examples: [{ items: [{ qty: 1 }] }],
    });
    assert.equal(badExample.status, 422);
    assert.deepEqual(badExample.body.detail[0].loc, ['body', 'examples', 0, 'items', 0, 'sku']);
    assert.equal((await h.api('GET', '/v1/event-types/x.example')).status, 404, 'nothing stored');
    const listed = await h.api('GET', '/v1/event-types');
    assert.deepEqual(
      listed.body.data.map((t: { name: string }) => t.name),
      ['order.placed'],
    );
    const patched = await h.api('PATCH', '/v1/event-types/order.placed', {
      schema: { ...orderSchema, additionalProperties: false },
    });
    assert.equal(patched.body.version, 2, 'a new schema is a new version');
    assert.equal(
      (await h.api('PATCH', '/v1/event-types/order.placed', { description: 'd' })).body.version,
      2,
    );
  });

  it('pages through the catalogue in the order of names, never into another project', async () => {
    const { key } = await h.stack.newProject('catalogue');
    const other = await h.stack.newProject('catalogue-other');
    // Names that sort apart from their creation order; ':' and '/' as names may hold them.
    const names = ['zeta', 'alpha', 'm:colon', 'b/slash', 'alpha.beta', 'omega'];
    for (const name of names)
      assert.equal((await h.api('POST', '/v1/event-types', { name }, key)).status, 201);
    await h.api('PATCH', '/v1/event-types/omega', { archived: true }, key);
    await h.api('POST', '/v1/event-types', { name: 'aaa.other' }, other.key);
    const walk = async (query: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: { data: { name: string }[]; next_cursor: string | null } } =
          await h.api(
            'GET',
            `/v1/event-types?limit=2${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
            undefined,
            key,
          );
        assert.equal(page.status, 200);
        assert.ok(page.body.data.length <= 2);
        seen.push(...page.body.data.map((t) => t.name));
        cursor = page.body.next_cursor;
        assert.ok(seen.length <= names.length, 'the walk ends');
      } while (cursor);
      return seen;
    };
    const live = names.filter((n) => n !== 'omega').sort();
    assert.deepEqual(await walk(''), live);
    assert.deepEqual(await walk('&include_archived=true'), [...names].sort());
    const first = await h.api('GET', '/v1/event-types', undefined, key);
    assert.deepEqual(
      first.body,
      { data: first.body.data, next_cursor: null },
      'one page under the default 50',
    );
    assert.equal((await h.api('GET', '/v1/event-types?cursor=%20bad', undefined, key)).status, 422);
    assert.equal((await h.api('GET', '/v1/event-types?limit=251', undefined, key)).status, 422);
  });

  it('refuses a publish whose payload does not match, pointing into the payload; stores nothing', async () => {
    await h.createEndpoint('/placed', { event_types: ['order.placed'] });
    const before = (await h.api('GET', '/v1/events?limit=250')).body.data.length;
    const bad = await h.api('POST', '/v1/events', {
      event_type: 'order.placed',
      payload: { items: [{ sku: 7 }, { qty: 1 }], note: 'x' },
    });
    assert.equal(bad.status, 422);
    const locs = bad.body.detail.map((d: { loc: unknown[] }) => JSON.stringify(d.loc)).sort();
    assert.deepEqual(locs, [
      JSON.stringify(['body', 'payload', 'items', 0, 'sku']),
      JSON.stringify(['body', 'payload', 'items', 1, 'sku']),
      JSON.stringify(['body', 'payload', 'note']),
    ]);
    let deep: unknown = { sku: 'x' };
    for (let n = 0; n < 24; n++) deep = { deep };
    const tooDeep = await h.api('POST', '/v1/events', { event_type: 'order.placed', payload: deep });
    assert.equal(tooDeep.status, 422, JSON.stringify(tooDeep.body));
    assert.deepEqual(tooDeep.body.detail[0].loc, ['body', 'payload']);
    assert.equal((await h.api('GET', '/v1/events?limit=250')).body.data.length, before, 'nothing stored');
    const good = await h.publish({ event_type: 'order.placed', payload: { items: [{ sku: 'a', qty: 1 }] } });
    await h.waitForStatus(good.deliveries[0].id, 'succeeded');
    // Archived: refused; unknown types pass unless the project is strict.
    await h.api('PATCH', '/v1/event-types/order.placed', { archived: true });
    const archived = await h.api('POST', '/v1/events', { event_type: 'order.placed', payload: good.payload });
    assert.equal(archived.status, 422);
    assert.match(archived.body.detail[0].msg, /archived/);
    assert.equal((await h.api('GET', '/v1/event-types')).body.data.length, 0);
    assert.equal((await h.api('GET', '/v1/event-types?include_archived=true')).body.data.length, 1);
    await h.publish({ event_type: 'never.declared', payload: {} });
    const strict = await h.api('PATCH', '/v1/project', { strict_event_types: true });
    assert.equal(strict.body.strict_event_types, true);
    const unknown = await h.api('POST', '/v1/events', { event_type: 'never.declared', payload: {} });
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.body.detail[0].loc, ['body', 'event_type']);
    await h.api('POST', '/v1/event-types', { name: 'never.declared' });
    await h.publish({ event_type: 'never.declared', payload: {} });
    // The API keeps what it read of the catalogue; each of these writes is seen by the next publish.
    assert.equal((await h.api('DELETE', '/v1/event-types/never.declared')).status, 204);
    const deleted = await h.api('POST', '/v1/events', { event_type: 'never.declared', payload: {} });
    assert.equal(deleted.status, 422);
    await h.api('PATCH', '/v1/project', { strict_event_types: false });
  });
});

describe('scheduled delivery', () => {
  const h = useStack({ project: 'scheduled' });
  const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

  it('waits in Temporal as scheduled until deliver_at; cancel and retry now act on the wait', async () => {
    await h.createEndpoint('/later');
    const deliverAt = inMs(3_000);
    const event = await h.publish({ event_type: 't/later', payload: {}, deliver_at: deliverAt });
    assert.equal(event.deliver_at, deliverAt);
    const [delivery] = event.deliveries;
    assert.equal(delivery.status, 'scheduled');
    assert.equal(delivery.next_attempt_at, deliverAt);
    const { client } = h.stack;
    const described = await client.workflow.getHandle(delivery.workflow_id).describe();
    assert.equal(described.typedSearchAttributes.get(SearchAttributes.status), 'scheduled');
    const state = await client.workflow.getHandle(delivery.workflow_id).query<{ status: string }>('state');
    assert.equal(state.status, 'scheduled');
    const done = await h.waitForStatus(delivery.id, 'succeeded', 30_000);
    const [request] = await h.receiver.waitFor('/later', 1);
    assert.ok(request.at >= Date.parse(deliverAt), 'not before its time');
    assert.equal(done.attempts, 1);

    const cancelled = (await h.publish({ event_type: 't/later', payload: {}, deliver_at: inMs(3_600_000) }))
      .deliveries[0];
    assert.equal((await h.api('POST', `/v1/deliveries/${cancelled.id}/cancel`)).status, 202);
    await h.waitForStatus(cancelled.id, 'cancelled');
    const now = (await h.publish({ event_type: 't/later', payload: {}, deliver_at: inMs(3_600_000) }))
      .deliveries[0];
    assert.equal((await h.api('POST', `/v1/deliveries/${now.id}/retry`)).status, 202);
    await h.waitForStatus(now.id, 'succeeded');
    assert.equal(h.receiver.on('/later').length, 2, 'the cancelled one never went out');
  });

  it('refuses deliver_at in the past or more than 30 days ahead, storing nothing', async () => {
    for (const deliver_at of [inMs(-60_000), inMs(31 * 24 * 3_600_000), 'tomorrow']) {
      const res = await h.api('POST', '/v1/events', { event_type: 't/later', payload: {}, deliver_at });
      assert.equal(res.status, 422, deliver_at);
      assert.deepEqual(res.body.detail[0].loc, ['body', 'deliver_at']);
    }
  });
});

describe('scheduled delivery through a crash', () => {
  const h = useStack({ project: 'scheduled-crash', worker: false });

  it('loses nothing when the worker is SIGKILLed and Temporal restarted during the wait', async () => {
    let worker = await spawnWorker(h.stack, { LOG_LEVEL: 'warn' });
    try {
      await h.createEndpoint('/crash-later');
      const deliverAt = new Date(Date.now() + 8_000).toISOString();
      const event = await h.publish({ event_type: 't/crash-later', payload: {}, deliver_at: deliverAt });
      const [delivery] = event.deliveries;
      await h.waitForStatus(delivery.id, 'scheduled');
      await worker.kill('SIGKILL');
      await h.stack.restartTemporal(500);
      worker = await spawnWorker(h.stack, { LOG_LEVEL: 'warn' });
      const done = await h.waitForStatus(delivery.id, 'succeeded', 60_000);
      assert.equal(done.attempts, 1);
      const requests = await h.receiver.waitFor('/crash-later', 1);
      assert.equal(requests.length, 1);
      assert.ok(requests[0].at >= Date.parse(deliverAt));
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});

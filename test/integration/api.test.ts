// The REST surface: auth, tenant isolation, validation and error shapes, endpoint CRUD.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { ApiKey, ApiKeyVerifier, hashApiKey } from '../../src/api-keys/model';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { useStack } from '../helpers/harness';
import { ROUTES } from '../helpers/routes';

describe('api', () => {
  const h = useStack({ project: 'alice' });
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };

  before(async () => {
    alice = { id: h.projectId, key: h.key };
    bob = await h.createProject('bob');
  });

  const newEndpoint = async (key: string, body: Record<string, unknown> = {}) => {
    return h.createEndpoint('/unused', { event_types: ['never.sent'], ...body }, key);
  };

  it('answers health and readiness without a key', async () => {
    assert.deepEqual((await h.stack.request('GET', '/healthz')).body, { status: 'ok' });
    const ready = await h.stack.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready', mongodb: true, temporal: true, draining: false });
  });

  it('authenticates with Bearer or X-API-Key, 401 otherwise, and keeps the admin key to projects', async () => {
    assert.equal((await h.stack.request('GET', '/v1/endpoints')).status, 401);
    const bad = await h.stack.request('GET', '/v1/endpoints', { key: 'hf_nope' });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, { detail: 'invalid API key' });
    const viaHeader = await h.stack.request('GET', '/v1/endpoints', { headers: { 'x-api-key': alice.key } });
    assert.equal(viaHeader.status, 200);
    assert.equal((await h.stack.request('GET', '/v1/endpoints', { key: h.stack.adminKey })).status, 403);
    assert.equal(
      (await h.stack.request('POST', '/v1/projects', { key: alice.key, body: { name: 'x' } })).status,
      403,
    );
    assert.equal((await h.stack.request('POST', '/v1/projects', { body: { name: 'x' } })).status, 401);
  });

  it('issues extra API keys shown once, and a revoked key fails at once', async () => {
    const created = await h.stack.request('POST', '/v1/api-keys', { key: alice.key, body: { name: 'ci' } });
    assert.equal(created.status, 201);
    // The key carries its id, so that requests find it by _id.
    assert.equal(created.body.key.slice(0, 24), `hf_${created.body.id.slice(4)}_`);
    assert.equal((await h.stack.request('GET', '/v1/endpoints', { key: created.body.key })).status, 200);
    const listed = await h.stack.request('GET', '/v1/api-keys', { key: alice.key });
    assert.ok(listed.body.data.every((k: Record<string, unknown>) => !('key' in k) && !('hash' in k)));
    assert.equal(
      (await h.stack.request('DELETE', `/v1/api-keys/${created.body.id}`, { key: bob.key })).status,
      404,
    );
    assert.equal(
      (await h.stack.request('DELETE', `/v1/api-keys/${created.body.id}`, { key: alice.key })).status,
      204,
    );
    assert.equal((await h.stack.request('GET', '/v1/endpoints', { key: created.body.key })).status, 401);
  });

  it('lets another API process trust a key it found live for its cache time, and no longer', async () => {
    // A second API process on the same stores, as another replica would be.
    const cacheMs = 1_500;
    const replica = createApp({
      client: h.stack.client,
      taskQueue: h.stack.taskQueue,
      adminKey: h.stack.adminKey,
      maxBodyBytes: 1024,
      bulkPageSize: 7,
      apiKeyCacheMs: cacheMs,
      allowPrivateTargets: true,
      logger: createLogger('silent'),
    });
    const server: Server = await new Promise((resolve) => {
      const s = replica.listen(0, '127.0.0.1', () => resolve(s));
    });
    const viaReplica = async (key: string) =>
      (
        await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/endpoints`, {
          headers: { authorization: `Bearer ${key}` },
        })
      ).status;
    try {
      const { id, key } = (await h.stack.request('POST', '/v1/api-keys', { key: alice.key, body: {} })).body;
      assert.equal(await viaReplica(key), 200);
      const trustedSince = Date.now();
      assert.equal((await h.stack.request('GET', '/v1/endpoints', { key })).status, 200);
      assert.equal((await h.stack.request('DELETE', `/v1/api-keys/${id}`, { key: alice.key })).status, 204);
      // The process that revoked the key stops accepting it at once, though it had it cached.
      assert.equal((await h.stack.request('GET', '/v1/endpoints', { key })).status, 401);
      // The replica still trusts it without a lookup (checked only while surely inside its cache time)...
      if (Date.now() - trustedSince < cacheMs / 2) assert.equal(await viaReplica(key), 200);
      // ...and looks it up again once that time is over.
      await new Promise((r) => setTimeout(r, cacheMs - (Date.now() - trustedSince) + 50));
      assert.equal(await viaReplica(key), 401);
    } finally {
      server.close();
    }
  });

  it('answers a request whose key lookup a revocation in the same process cut short', async () => {
    const { key } = (await h.stack.request('POST', '/v1/api-keys', { key: alice.key, body: {} })).body;
    const verifier = new ApiKeyVerifier(5_000);
    // The lookup is under way (a MongoDB round trip) when the revocation's forget call aborts it.
    const checking = verifier.verify(key);
    verifier.forget(hashApiKey(key));
    assert.equal((await checking)?.project_id, alice.id);
  });

  it('accepts keys issued before keys carried their id, and no key that borrows another one’s id', async () => {
    const legacy = `hf_${randomBytes(32).toString('base64url')}`;
    await ApiKey.create({
      _id: 'key_0000000000legacy00',
      project_id: alice.id,
      prefix: legacy.slice(0, 10),
      hash: hashApiKey(legacy),
    });
    assert.equal((await h.stack.request('GET', '/v1/endpoints', { key: legacy })).status, 200);
    // Alice's key id with a made-up secret, and with the legacy key's secret: both refused.
    const forged = `${alice.key.slice(0, 24)}${randomBytes(32).toString('base64url')}`;
    assert.equal((await h.stack.request('GET', '/v1/endpoints', { key: forged })).status, 401);
    const grafted = `${alice.key.slice(0, 24)}${legacy.slice(3)}`;
    assert.equal((await h.stack.request('GET', '/v1/endpoints', { key: grafted })).status, 401);
  });

  it('manages endpoints; the signing secret is shown only at creation', async () => {
    const ep = await newEndpoint(alice.key, { description: 'orders', metadata: { team: 'a' } });
    assert.match(ep.secret, /^whsec_/);
    assert.equal(ep.retry.max_attempts, 15);
    const got = await h.stack.request('GET', `/v1/endpoints/${ep.id}`, { key: alice.key });
    assert.equal(got.body.description, 'orders');
    assert.ok(!('secret' in got.body) && !('secrets' in got.body));
    const list = await h.stack.request('GET', '/v1/endpoints', { key: alice.key });
    assert.ok(list.body.data.some((e: { id: string }) => e.id === ep.id));
    assert.ok(!JSON.stringify(list.body).includes(ep.secret));
    const patched = await h.stack.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: alice.key,
      body: { status: 'paused', retry: { max_attempts: 3 } },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.status, 'paused');
    assert.equal(patched.body.retry.max_attempts, 3);
    assert.equal(patched.body.retry.initial_interval_ms, 5000);
    assert.equal((await h.stack.request('DELETE', `/v1/endpoints/${ep.id}`, { key: alice.key })).status, 204);
    assert.equal((await h.stack.request('GET', `/v1/endpoints/${ep.id}`, { key: alice.key })).status, 404);
  });

  it("answers 404 for another project's objects, exactly as for missing ones", async () => {
    const ep = await newEndpoint(alice.key);
    const event = await h.stack.request('POST', '/v1/events', {
      key: alice.key,
      body: { event_type: 'some.type', payload: { secret: 'alice-only' } },
    });
    assert.equal(event.status, 202);
    const aliceDelivery = await newEndpoint(alice.key, { event_types: [] }).then(() =>
      h.stack.request('POST', '/v1/events', { key: alice.key, body: { event_type: 'x.y', payload: {} } }),
    );
    const deliveryId = aliceDelivery.body.deliveries[0].id;
    await h.stack.request('POST', `/v1/deliveries/${deliveryId}/cancel`, { key: alice.key });
    const op = await h.stack.request('POST', '/v1/deliveries/replay', {
      key: alice.key,
      body: { filter: { status: 'failed' } },
    });
    const keyId = (await h.stack.request('POST', '/v1/api-keys', { key: alice.key, body: {} })).body.id;
    const consumerId = (
      await h.stack.request('POST', '/v1/consumers', { key: alice.key, body: { name: 'alice-customer' } })
    ).body.id;
    const operational = await h.stack.request('POST', '/v1/operational-endpoints', {
      key: alice.key,
      body: { url: 'http://127.0.0.1:9/alice-ops' },
    });
    const eventType = await h.stack.request('POST', '/v1/event-types', {
      key: alice.key,
      body: { name: 'alice.only', description: 'alice' },
    });
    assert.equal(eventType.status, 201);
    const aliceIds: Record<string, string> = {
      evtype: eventType.body.name,
      oep: operational.body.id,
      con: consumerId,
      ep: ep.id,
      evt: event.body.id,
      dlv: deliveryId,
      op: op.body.id,
      key: keyId,
    };
    const bodies: Record<string, unknown> = {
      '/v1/endpoints/{ep}': { description: 'hijack' },
      '/v1/operational-endpoints/{oep}': { description: 'hijack' },
      '/v1/event-types/{evtype}': { description: 'hijack' },
      '/v1/endpoints/{ep}/filter/test': { payload: {} },
      '/v1/consumers/{con}': { name: 'hijack' },
      '/v1/endpoints/{ep}/recover': { since: '2020-01-01T00:00:00Z' },
    };
    // Every route that names an object, with Bob's key and Alice's ids: 404, as for an id that does not exist.
    const probes = ROUTES.filter(([, template]) => template.includes('{'));
    assert.ok(probes.length >= 15);
    for (const [method, template] of probes) {
      const path = template.replace(/\{(\w+)\}/g, (_, kind: string) => aliceIds[kind]);
      const res = await h.stack.request(method, path, {
        key: bob.key,
        body: method === 'GET' ? undefined : (bodies[template] ?? {}),
      });
      assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.ok(!JSON.stringify(res.body).includes('alice'), `${method} ${path} leaks nothing`);
      const missing = await h.stack.request(
        method,
        template.replace(/\{(\w+)\}/g, (_, kind: string) => `${kind}_00000000000000000000`),
        {
          key: bob.key,
          body: method === 'GET' ? undefined : (bodies[template] ?? {}),
        },
      );
      assert.deepEqual(
        [missing.status, missing.body],
        [res.status, res.body],
        `${method} ${template}: same as a missing id`,
      );
    }
    assert.equal(
      (await h.stack.request('GET', `/v1/deliveries/${deliveryId}`, { key: alice.key })).status,
      200,
    );
    assert.equal(
      (await h.stack.request('GET', `/v1/operations/${op.body.id}`, { key: alice.key })).status,
      200,
    );
    const lists = await Promise.all(
      ['/v1/endpoints', '/v1/events', '/v1/deliveries'].map((p) =>
        h.stack.request('GET', p, { key: bob.key }),
      ),
    );
    for (const list of lists) assert.deepEqual(list.body.data, []);
    const filtered = await h.stack.request('GET', `/v1/deliveries?endpoint_id=${ep.id}`, { key: bob.key });
    assert.deepEqual(filtered.body.data, []);
    const explicit = await h.stack.request('POST', '/v1/events', {
      key: bob.key,
      body: { event_type: 'x.y', payload: {}, endpoint_ids: [ep.id] },
    });
    assert.equal(explicit.status, 422);
    // Alice's endpoint is untouched.
    assert.equal(
      (await h.stack.request('GET', `/v1/endpoints/${ep.id}`, { key: alice.key })).body.description,
      '',
    );
  });

  it('rejects malformed bodies with 422 and loc/msg/type, and changes nothing', async () => {
    const before = (await h.stack.request('GET', '/v1/endpoints?limit=250', { key: alice.key })).body.data
      .length;
    const cases: unknown[] = [
      {},
      { url: 'ftp://example.com/x' },
      { url: 'http://127.0.0.1/x', unknown_field: 1 },
      { url: 'http://127.0.0.1/x', timeout_ms: 'soon' },
      { url: 'http://127.0.0.1/x', headers: { 'webhook-signature': 'forged' } },
      { url: 'http://127.0.0.1/x', secret: 'not-a-secret' },
      { url: 'http://127.0.0.1/x', retry: { max_attempts: 0 } },
      [],
    ];
    for (const body of cases) {
      const res = await h.stack.request('POST', '/v1/endpoints', { key: alice.key, body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.ok(Array.isArray(res.body.detail) && res.body.detail.length > 0);
      for (const issue of res.body.detail) {
        assert.ok(Array.isArray(issue.loc) && issue.loc[0] === 'body', JSON.stringify(issue));
        assert.equal(typeof issue.msg, 'string');
        assert.equal(typeof issue.type, 'string');
      }
    }
    // Limits and breaker settings out of range: refused with where, nothing stored.
    for (const [field, value, loc] of [
      ['rate_limit_per_s', 0, ['rate_limit_per_s']],
      ['rate_limit_per_s', 2.5, ['rate_limit_per_s']],
      ['max_in_flight', 101, ['max_in_flight']],
      ['circuit_breaker', { failure_rate_pct: 0 }, ['circuit_breaker', 'failure_rate_pct']],
      ['circuit_breaker', { window_s: 5 }, ['circuit_breaker', 'window_s']],
      ['circuit_breaker', { disable_after_s: 10 }, ['circuit_breaker', 'disable_after_s']],
      ['circuit_breaker', { trip_after: 3 }, ['circuit_breaker']],
    ] as const) {
      const res = await h.stack.request('POST', '/v1/endpoints', {
        key: alice.key,
        body: { url: 'http://127.0.0.1/x', [field]: value },
      });
      assert.equal(res.status, 422, `${field} ${JSON.stringify(value)}`);
      assert.deepEqual(res.body.detail[0].loc, ['body', ...loc]);
    }
    const limited = await h.stack.request('POST', '/v1/endpoints', {
      key: alice.key,
      body: { url: 'http://127.0.0.1/x', rate_limit_per_s: 10, circuit_breaker: { min_attempts: 5 } },
    });
    assert.equal(limited.status, 201);
    assert.equal(limited.body.rate_limit_per_s, 10);
    assert.equal(limited.body.max_in_flight, null);
    assert.deepEqual(limited.body.circuit_breaker, {
      failure_rate_pct: 50,
      min_attempts: 5,
      window_s: 60,
      disable_after_s: 432000,
    });
    assert.equal(limited.body.circuit.state, 'closed');
    const patched = await h.stack.request('PATCH', `/v1/endpoints/${limited.body.id}`, {
      key: alice.key,
      body: { rate_limit_per_s: null, max_in_flight: 3, circuit_breaker: { window_s: 120 } },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.rate_limit_per_s, null);
    assert.equal(patched.body.max_in_flight, 3);
    assert.equal(
      patched.body.circuit_breaker.min_attempts,
      5,
      'a PATCH keeps the overrides it does not name',
    );
    assert.equal(patched.body.circuit_breaker.window_s, 120);
    const refused = await h.stack.request('PATCH', `/v1/endpoints/${limited.body.id}`, {
      key: alice.key,
      body: { max_in_flight: 0 },
    });
    assert.equal(refused.status, 422);
    assert.equal(
      (await h.stack.request('GET', `/v1/endpoints/${limited.body.id}`, { key: alice.key })).body
        .max_in_flight,
      3,
    );
    assert.equal(
      (await h.stack.request('DELETE', `/v1/endpoints/${limited.body.id}`, { key: alice.key })).status,
      204,
    );
    const missingType = await h.stack.request('POST', '/v1/events', {
      key: alice.key,
      body: { payload: {} },
    });
    assert.deepEqual(missingType.body.detail[0].loc, ['body', 'event_type']);
    const after = (await h.stack.request('GET', '/v1/endpoints?limit=250', { key: alice.key })).body.data
      .length;
    assert.equal(after, before);
  });

  it('answers 400, 413, 415 and 422 for broken requests, never a stack trace', async () => {
    const malformed = await h.stack.request('POST', '/v1/events', {
      key: alice.key,
      body: '{"event_type": ',
    });
    assert.equal(malformed.status, 400);
    assert.deepEqual(malformed.body, { detail: 'request body is not valid JSON' });
    const text = await h.stack.request('POST', '/v1/events', {
      key: alice.key,
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.status, 415);
    const huge = await h.stack.request('POST', '/v1/events', {
      key: alice.key,
      body: { event_type: 'big', payload: { blob: 'x'.repeat(300 * 1024) } },
    });
    assert.equal(huge.status, 413);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const tooDeep = await h.stack.request('POST', '/v1/events', {
      key: alice.key,
      body: { event_type: 'd', payload: deep },
    });
    assert.equal(tooDeep.status, 400);
    const tooWide = await h.stack.request('POST', '/v1/events', {
      key: alice.key,
      body: { event_type: 'w', payload: new Array(120_000).fill(0) },
    });
    assert.equal(tooWide.status, 400);
    assert.match(tooWide.body.detail, /more than 100000 values/);
    const badId = await h.stack.request('GET', '/v1/deliveries/not-an-id', { key: alice.key });
    assert.equal(badId.status, 422);
    assert.deepEqual(badId.body.detail[0].loc, ['path', 'id']);
    const badQuery = await h.stack.request('GET', '/v1/deliveries?status=lost&limit=0', { key: alice.key });
    assert.equal(badQuery.status, 422);
    assert.deepEqual(badQuery.body.detail.map((d: { loc: unknown[] }) => d.loc[1]).sort(), [
      'limit',
      'status',
    ]);
    for (const res of [malformed, text, huge, tooDeep, badId, badQuery]) {
      assert.ok(!JSON.stringify(res.body).includes('    at '), 'no stack trace');
    }
  });
});

// Property-based: thousands of random and mutated requests to every route. Never a 5xx, never a stack
// trace, always DESIGN.md's error shape, and an error answer never changes what is stored.
// No worker runs here, so no workflow started by a request that happens to be valid sends anything.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import mongoose from 'mongoose';
import { ID_PATTERN } from '../../src/ids';
import { useStack } from '../helpers/harness';
import { ROUTES } from '../helpers/routes';

/** Valid bodies to mutate, so that requests reach deep into validation rather than failing at once. */
const VALID_BODIES: Record<string, unknown> = {
  '/v1/projects': { name: 'p' },
  '/v1/api-keys': { name: 'k' },
  '/v1/consumers': { name: 'c', uid: 'acme-inc', metadata: { plan: 'pro' } },
  '/v1/consumers/{con}': { name: 'c2' },
  '/v1/endpoints': {
    url: 'http://127.0.0.1:9/x',
    event_types: ['a.b'],
    retry: { max_attempts: 2 },
    headers: { 'x-a': 'b' },
  },
  '/v1/events': { event_type: 'a.b', payload: { n: 1 }, idempotency_key: 'k', headers: { 'x-a': 'b' } },
  '/v1/deliveries/replay': { filter: { status: 'failed', since: '2020-01-01T00:00:00Z' } },
  rotate: { grace_period_s: 10 },
  recover: { since: '2020-01-01T00:00:00Z' },
};

const junk = fc.oneof(
  fc.string(),
  fc.constant('../../etc/passwd'),
  fc.constant('%00'),
  fc.constant('dlv_'),
  fc.constant('ep_0000000000000000000'),
  fc.constant('{"$gt": ""}'),
  fc.stringMatching(ID_PATTERN),
);
const jsonValue = fc.jsonValue({ maxDepth: 4 });

function mutate(body: unknown, key: string, value: unknown, drop: boolean): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return value;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const target = keys.length > 0 && !key.startsWith('+') ? keys[key.length % keys.length] : key;
  if (drop) delete copy[target];
  else copy[target] = value;
  return copy;
}

describe('hostile input', () => {
  const h = useStack({ project: 'fuzz', worker: false });
  const ids: Record<string, string[]> = {};

  before(async () => {
    // Real objects to aim at, of this project and of another one.
    const other = await h.createProject('other');
    for (const [n, k] of [h.key, other.key].entries()) {
      const consumer = await h.api('POST', '/v1/consumers', { name: 'c', uid: `uid-${n}` }, k);
      const ep = await h.api(
        'POST',
        '/v1/endpoints',
        { url: 'http://127.0.0.1:9/x', status: 'paused', consumer_id: consumer.body.id },
        k,
      );
      const active = await h.api(
        'POST',
        '/v1/endpoints',
        { url: 'http://127.0.0.1:9/y', event_types: ['z'] },
        k,
      );
      const event = await h.publish({ event_type: 'z', payload: {} }, k);
      const apiKey = await h.api('POST', '/v1/api-keys', {}, k);
      for (const [kind, id] of [
        ['con', consumer.body.id],
        ['con', `uid-${n}`],
        ['ep', ep.body.id],
        ['ep', active.body.id],
        ['evt', event.id],
        ['dlv', event.deliveries[0].id],
        ['key', apiKey.body.id],
      ]) {
        ids[kind] ??= [];
        ids[kind].push(id);
      }
    }
    ids.op = [];
  });

  async function fingerprint(): Promise<string> {
    const db = mongoose.connection.db;
    assert.ok(db);
    const names = ['projects', 'api_keys', 'consumers', 'endpoints', 'events', 'deliveries', 'operations'];
    const parts = await Promise.all(
      names.map(async (name) => {
        const docs = await db
          .collection(name)
          .find({}, { projection: { _id: 1, updated_at: 1, revoked_at: 1 } })
          .toArray();
        return `${name}:${docs
          .map((d) => `${d._id}@${d.updated_at?.valueOf()}/${d.revoked_at ? 1 : 0}`)
          .sort()
          .join(',')}`;
      }),
    );
    return parts.join('|');
  }

  const request = fc.record({
    route: fc.constantFrom(...ROUTES),
    params: fc.record({ pick: fc.nat(), junk, useJunk: fc.boolean() }),
    auth: fc.constantFrom('project', 'project', 'project', 'admin', 'none', 'bogus'),
    bodyKind: fc.constantFrom('mutated', 'mutated', 'json', 'raw', 'none'),
    mutation: fc.record({
      key: fc.oneof(fc.string({ maxLength: 8 }), fc.constant('+extra')),
      value: jsonValue,
      drop: fc.boolean(),
    }),
    json: jsonValue,
    raw: fc.oneof(fc.string(), fc.constant('{"a":'), fc.constant('[[[[[[[['), fc.constant('\u0000')),
    contentType: fc.constantFrom(
      'application/json',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
    ),
    query: fc.dictionary(
      fc.constantFrom(
        'limit',
        'cursor',
        'status',
        'since',
        'until',
        'endpoint_id',
        'event_type',
        'consumer_id',
        'x',
      ),
      junk,
      { maxKeys: 3 },
    ),
  });

  it('answers every random request with a well-formed 2xx or 4xx, and errors write nothing', async () => {
    let errors = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const [method, template] = r.route;
        const path = template.replace(/\{(\w+)\}/g, (_, kind: string) => {
          const real = ids[kind] ?? [];
          return r.params.useJunk || real.length === 0
            ? encodeURIComponent(r.params.junk)
            : real[r.params.pick % real.length];
        });
        const query = new URLSearchParams(r.query).toString();
        const validBody =
          VALID_BODIES[template] ??
          (template.endsWith('rotate')
            ? VALID_BODIES.rotate
            : template.endsWith('recover')
              ? VALID_BODIES.recover
              : {});
        let body: string | undefined;
        if (method === 'GET') {
          // fetch sends no body with GET.
        } else if (r.bodyKind === 'mutated')
          body = JSON.stringify(mutate(validBody, r.mutation.key, r.mutation.value, r.mutation.drop));
        else if (r.bodyKind === 'json') body = JSON.stringify(r.json);
        else if (r.bodyKind === 'raw') body = r.raw;
        const headers: Record<string, string> = {};
        if (body !== undefined && r.contentType) headers['content-type'] = r.contentType;
        const token = { project: h.key, admin: h.stack.adminKey, none: undefined, bogus: 'hf_bogus' }[r.auth];
        if (token) headers.authorization = `Bearer ${token}`;

        const before = await fingerprint();
        const res = await fetch(`${h.stack.baseUrl}${path}${query ? `?${query}` : ''}`, {
          method,
          headers,
          body,
        });
        const text = await res.text();
        const context = `${method} ${path}?${query} ${res.status} ${text.slice(0, 300)}`;
        assert.ok(res.status < 500, context);
        assert.ok(!/\n\s+at |\.ts:\d+/.test(text), `stack trace: ${context}`);
        if (res.status >= 400) {
          errors++;
          const parsed = JSON.parse(text);
          assert.ok(typeof parsed.detail === 'string' || Array.isArray(parsed.detail), context);
          if (Array.isArray(parsed.detail)) {
            assert.equal(res.status, 422, context);
            for (const issue of parsed.detail) {
              assert.ok(
                Array.isArray(issue.loc) && typeof issue.msg === 'string' && typeof issue.type === 'string',
                context,
              );
            }
          }
          if (method !== 'GET')
            assert.equal(await fingerprint(), before, `an error wrote something: ${context}`);
        }
      }),
      { numRuns: 1500, verbose: 1, seed: Number(process.env.FC_SEED ?? Date.now() % 100_000) },
    );
    assert.ok(errors > 500, `most random requests are errors (${errors})`);
  });
});

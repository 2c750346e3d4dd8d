// Portal sessions: a token that acts as one consumer. Route by route it reaches that consumer's objects only
// (another consumer's are 404, the project's own business 403), lists never show anyone else's data, and a
// wrong, expired or revoked token is 401.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { PortalSession } from '../../src/consumers/sessions';
import { Delivery } from '../../src/deliveries/model';
import { Event, newEvent } from '../../src/events/model';
import { newId } from '../../src/ids';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';
import { ROUTES } from '../helpers/routes';
import { eventually } from '../helpers/stack';

/** Routes of the project as a whole: a portal session gets 403 whatever it names. */
const PROJECT_ONLY = new Set([
  'POST /v1/projects',
  'POST /v1/api-keys',
  'GET /v1/api-keys',
  'DELETE /v1/api-keys/{key}',
  'POST /v1/consumers',
  'GET /v1/consumers',
  'GET /v1/consumers/{con}',
  'PATCH /v1/consumers/{con}',
  'DELETE /v1/consumers/{con}',
  'POST /v1/consumers/{con}/portal-sessions',
  'DELETE /v1/consumers/{con}/portal-sessions',
  'POST /v1/operational-endpoints',
  'GET /v1/operational-endpoints',
  'GET /v1/operational-endpoints/{oep}',
  'PATCH /v1/operational-endpoints/{oep}',
  'DELETE /v1/operational-endpoints/{oep}',
  'POST /v1/operational-endpoints/{oep}/secret/rotate',
  'GET /v1/stats',
  'GET /v1/project',
  'PATCH /v1/project',
  'POST /v1/event-types',
  'PATCH /v1/event-types/{evtype}',
  'DELETE /v1/event-types/{evtype}',
  'POST /v1/events',
  'POST /v1/deliveries/replay',
]);

/** Bodies that pass validation, so that the answer is about the object named. */
const VALID_BODIES: Record<string, object> = {
  '/v1/endpoints/{ep}': { description: 'hijack' },
  '/v1/endpoints/{ep}/recover': { since: '2020-01-01T00:00:00Z' },
  '/v1/endpoints/{ep}/filter/test': { payload: {} },
  '/v1/consumers/{con}': { name: 'hijack' },
};

interface World {
  con: string;
  ep: string;
  evt: string;
  dlv: string;
}

describe('portal sessions', () => {
  const h = useStack({ project: 'portal' });
  const { api } = h;
  const world: Record<'a' | 'b', World> = {} as never;
  /** A bulk replay of the whole project's failed deliveries: no consumer's. */
  let op: string;
  /** A recovery of alpha's endpoint: alpha's. */
  let alphaOp: string;
  let keyId: string;
  let session: string;

  /** A consumer with an endpoint and one delivered event. */
  async function consumerWorld(name: string): Promise<World> {
    const con = (await api('POST', '/v1/consumers', { name, uid: name })).body.id;
    h.receiver.script(`/${name}`, status(200));
    const ep = await h.createEndpoint(`/${name}`, { consumer_id: con });
    const event = await h.publish({
      event_type: `t/${name}`,
      payload: { secret: `${name}-only` },
      consumer_id: con,
    });
    await h.waitForStatus(event.deliveries[0].id, 'succeeded');
    return { con, ep: ep.id, evt: event.id, dlv: event.deliveries[0].id };
  }

  async function openSession(consumer: string, body: object = {}) {
    const res = await api('POST', `/v1/consumers/${consumer}/portal-sessions`, body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; token: string; consumer_id: string; expires_at: string };
  }

  before(async () => {
    world.a = await consumerWorld('alpha');
    world.b = await consumerWorld('beta');
    op = (await api('POST', '/v1/deliveries/replay', { filter: { status: 'failed' } })).body.id;
    keyId = (await api('POST', '/v1/api-keys', { name: 'k' })).body.id;
    session = (await openSession('alpha')).token;
    alphaOp = (
      await api('POST', `/v1/endpoints/${world.a.ep}/recover`, { since: '2020-01-01T00:00:00Z' }, session)
    ).body.id;
  });

  it('opens sessions of a default hour, at most a day, for a consumer of the project only', async () => {
    const opened = await openSession(world.a.con);
    assert.equal(opened.consumer_id, world.a.con);
    assert.match(opened.token, /^hfps_/);
    const hour = new Date(opened.expires_at).getTime() - Date.now();
    assert.ok(hour > 3_500_000 && hour <= 3_600_000, `${hour} ms`);
    const day = await openSession('alpha', { expires_in_s: 86_400 });
    assert.ok(new Date(day.expires_at).getTime() - Date.now() > 86_000_000);
    for (const expires_in_s of [59, 86_401, 'soon']) {
      const res = await api('POST', '/v1/consumers/alpha/portal-sessions', { expires_in_s });
      assert.equal(res.status, 422, String(expires_in_s));
    }
    assert.equal((await api('POST', '/v1/consumers/nobody/portal-sessions', {})).status, 404);
    const other = await h.createProject('other');
    assert.equal((await api('POST', '/v1/consumers/alpha/portal-sessions', {}, other.key)).status, 404);
    // The token is never stored: only its hash.
    const stored = await PortalSession.findById(opened.id).lean();
    assert.ok(stored && !JSON.stringify(stored).includes(opened.token.slice(-43)));
  });

  it('answers every route: 403 for the project’s business, 404 for another consumer’s objects', async () => {
    for (const [method, template] of ROUTES) {
      const route = `${method} ${template}`;
      const forB = template.replace(/\{(\w+)\}/g, (_, kind: string) =>
        kind === 'op' ? op : kind === 'key' ? keyId : world.b[kind as keyof World],
      );
      const body = method === 'GET' ? undefined : (VALID_BODIES[template] ?? {});
      const res = await api(method, forB, body, session);
      if (PROJECT_ONLY.has(route)) {
        assert.equal(res.status, 403, `${route}: ${res.status} ${JSON.stringify(res.body)}`);
      } else if (template.includes('{')) {
        assert.equal(res.status, 404, `${route} with beta's ids: ${res.status} ${JSON.stringify(res.body)}`);
      }
      assert.ok(!JSON.stringify(res.body).includes('beta'), `${route} shows nothing of beta`);
    }
  });

  it('lists only its consumer’s endpoints, deliveries and events', async () => {
    // An event of the project's own, to every endpoint subscribed to it: alpha sees it through its delivery.
    const alphaEndpoint = await h.createEndpoint('/alpha-all', {
      consumer_id: 'alpha',
      event_types: ['t/all'],
    });
    await h.createEndpoint('/beta-all', { consumer_id: 'beta', event_types: ['t/all'] });
    const broadcast = await h.publish({ event_type: 't/all', payload: {} });
    for (const d of broadcast.deliveries) await h.waitForStatus(d.id, 'succeeded');

    const endpoints = (await api('GET', '/v1/endpoints?limit=250', undefined, session)).body.data;
    assert.deepEqual(
      endpoints.map((e: { id: string }) => e.id).sort(),
      [world.a.ep, alphaEndpoint.id].sort(),
    );
    const deliveries = (await api('GET', '/v1/deliveries?limit=250', undefined, session)).body.data;
    assert.ok(deliveries.length >= 2);
    assert.ok(deliveries.every((d: { consumer_id: string }) => d.consumer_id === world.a.con));
    const events = (await api('GET', '/v1/events?limit=250', undefined, session)).body.data;
    assert.deepEqual(events.map((e: { id: string }) => e.id).sort(), [world.a.evt, broadcast.id].sort());
    assert.equal((await api('GET', `/v1/events/${broadcast.id}`, undefined, session)).status, 200);
    assert.equal((await api('GET', '/v1/deliveries?consumer_id=beta', undefined, session)).status, 404);
    assert.equal((await api('GET', '/v1/endpoints?consumer_id=alpha', undefined, session)).status, 200);
    const attempts = await api('GET', `/v1/deliveries/${world.a.dlv}/attempts`, undefined, session);
    assert.equal(attempts.body.data.length, 1);
  });

  it('pages through the events delivered or published to its consumer, by a walk of its newest deliveries', async () => {
    // A project of its own, filled straight in the store: 1 300 deliveries, so the walk takes several steps.
    const project = await h.createProject('walk');
    const asProject = (method: string, path: string, body?: object) => api(method, path, body, project.key);
    const gamma = (await asProject('POST', '/v1/consumers', { uid: 'gamma', name: 'Gamma' })).body.id;
    const delta = (await asProject('POST', '/v1/consumers', { uid: 'delta', name: 'Delta' })).body.id;
    const sessionOf = (await asProject('POST', '/v1/consumers/gamma/portal-sessions', {})).body.token;
    const now = Date.now();
    const events: { _id: string; event_type: string; consumer_id: string | null }[] = [];
    const deliveries: { _id: string; project_id: string; consumer_id: string; event_id: string }[] = [];
    const storeEvent = (at: number, type: string, consumer: string | null = null) => {
      const event = { _id: newId('evt', at), event_type: type, consumer_id: consumer };
      events.push(event);
      return event._id;
    };
    const deliver = (eventId: string, consumer: string, at: number, n = 1) => {
      for (let i = 0; i < n; i++)
        deliveries.push({
          _id: newId('dlv', at),
          project_id: project.id,
          consumer_id: consumer,
          event_id: eventId,
        });
    };
    const t0 = now - 3_600_000;
    for (let i = 0; i < 30; i++) {
      const at = t0 + i * 60_000;
      const id = storeEvent(at, i % 2 ? 'walk.odd' : 'walk.even');
      deliver(id, gamma, at, 40);
      if (i % 5 === 0) deliver(storeEvent(at + 1, 'walk.even'), delta, at + 1, 3);
    }
    // An old event replayed to gamma just now, and one published to gamma that reached no endpoint.
    const replayed = storeEvent(now - 86_400_000, 'walk.odd');
    deliver(replayed, gamma, now);
    const addressed = storeEvent(t0 + 90_000, 'walk.even', gamma);
    await Event.collection.insertMany(
      events.map((e) =>
        newEvent(
          {
            _id: e._id,
            project_id: project.id,
            consumer_id: e.consumer_id,
            event_type: e.event_type,
            payload_json: '{}',
            idempotency_key: null,
            dedupe_key: e._id,
            headers: {},
            endpoint_ids: null,
            channels: [],
          },
          new Date(),
        ),
      ) as never[],
    );
    await Delivery.collection.insertMany(deliveries as never[]);

    const visible = events
      .filter(
        (e) =>
          e.consumer_id === gamma || deliveries.some((d) => d.event_id === e._id && d.consumer_id === gamma),
      )
      .sort((a, b) => (a._id < b._id ? 1 : -1));
    assert.ok(visible.some((e) => e._id === replayed) && visible.some((e) => e._id === addressed));
    async function pages(query: string) {
      const ids: string[] = [];
      let cursor: string | null = null;
      for (let n = 0; n < 20; n++) {
        const res = await api(
          'GET',
          `/v1/events?limit=7${query}${cursor ? `&cursor=${cursor}` : ''}`,
          undefined,
          sessionOf,
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        ids.push(...res.body.data.map((e: { id: string }) => e.id));
        cursor = res.body.next_cursor;
        if (!cursor) return ids;
      }
      throw new Error('more pages than events');
    }
    const ids = (list: typeof visible) => list.map((e) => e._id);
    assert.deepEqual(await pages(''), ids(visible));
    assert.deepEqual(
      await pages('&event_type=walk.odd'),
      ids(visible.filter((e) => e.event_type === 'walk.odd')),
    );
    const since = new Date(t0 + 10 * 60_000).toISOString();
    const until = new Date(t0 + 20 * 60_000).toISOString();
    assert.deepEqual(
      await pages(`&since=${since}&until=${until}`),
      ids(
        visible.filter(
          (e) =>
            e._id >= newId('evt', Date.parse(since)).slice(0, 14) &&
            e._id < newId('evt', Date.parse(until)).slice(0, 14),
        ),
      ),
    );
    // Those addressed to it, as a project key would ask; never delta's.
    assert.deepEqual(await pages('&consumer_id=gamma'), [addressed]);
    assert.equal((await api('GET', '/v1/events?consumer_id=delta', undefined, sessionOf)).status, 404);
  });

  it('acts on its own endpoints and deliveries', async () => {
    h.receiver.script('/alpha-new', status(500), status(200));
    const created = await api('POST', '/v1/endpoints', { url: h.receiver.url('/alpha-new') }, session);
    assert.equal(created.status, 201);
    assert.equal(created.body.consumer_id, world.a.con, 'a session’s endpoints are its consumer’s');
    const foreign = await api(
      'POST',
      '/v1/endpoints',
      { url: h.receiver.url('/x'), consumer_id: 'beta' },
      session,
    );
    assert.equal(foreign.status, 422);
    const ep = created.body.id;
    assert.equal(
      (await api('PATCH', `/v1/endpoints/${ep}`, { status: 'paused' }, session)).body.status,
      'paused',
    );
    assert.equal((await api('POST', `/v1/endpoints/${ep}/test`, {}, session)).status, 409);
    assert.equal((await api('PATCH', `/v1/endpoints/${ep}`, { status: 'active' }, session)).status, 200);
    const rotated = await api('POST', `/v1/endpoints/${ep}/secret/rotate`, {}, session);
    assert.match(rotated.body.secret, /^whsec_/);

    // A test event: the first attempt fails, it retries, and succeeds.
    const sent = await api('POST', `/v1/endpoints/${ep}/test`, {}, session);
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    assert.equal(sent.body.event_type, 'hookflow.test');
    const [request] = await h.receiver.waitFor('/alpha-new', 1);
    assert.ok(h.verifies(rotated.body.secret, request));
    const d = sent.body.deliveries[0].id;
    await h.waitForStatus(d, 'succeeded');
    assert.equal((await api('POST', `/v1/deliveries/${d}/retry`, {}, session)).status, 409);
    assert.equal((await api('POST', `/v1/deliveries/${d}/cancel`, {}, session)).status, 409);
    const replay = await api('POST', `/v1/deliveries/${d}/replay`, {}, session);
    assert.equal(replay.status, 202);
    assert.equal(replay.body.consumer_id, world.a.con);
    const resend = await api(
      'POST',
      `/v1/endpoints/${world.a.ep}/events/${sent.body.id}/resend`,
      {},
      session,
    );
    assert.equal(resend.status, 202);
    assert.equal((await api('POST', `/v1/events/${world.a.evt}/replay`, {}, session)).status, 202);
    assert.equal((await api('DELETE', `/v1/endpoints/${ep}`, undefined, session)).status, 204);
  });

  it("recovers its consumer's endpoint and follows that operation, and no other", async () => {
    h.receiver.script('/alpha-down', status(500), status(200));
    const down = await h.createEndpoint('/alpha-down', {
      consumer_id: world.a.con,
      retry: { max_attempts: 1 },
    });
    const event = await h.publish({
      event_type: 't/alpha-down',
      payload: { n: 1 },
      consumer_id: world.a.con,
    });
    const failed = event.deliveries[0].id;
    await h.waitForStatus(failed, 'failed');
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const started = await api('POST', `/v1/endpoints/${down.id}/recover`, { since }, session);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.consumer_id, world.a.con);
    const done = await eventually(
      async () => (await api('GET', `/v1/operations/${started.body.id}`, undefined, session)).body,
      (o) => o.status === 'completed',
    );
    assert.deepEqual([done.total, done.replayed], [1, 1]);
    const [, again] = await h.receiver.waitFor('/alpha-down', 2);
    assert.deepEqual(JSON.parse(again.body), { n: 1 }, 'the failed delivery, replayed');
    const listed = (await api('GET', '/v1/operations?limit=250', undefined, session)).body.data.map(
      (o: { id: string }) => o.id,
    );
    assert.ok(listed.includes(started.body.id) && listed.includes(alphaOp));
    assert.ok(!listed.includes(op), "the project's own operation is not its");
    // A bulk replay confined to alpha, by consumer or by one of its endpoints, is alpha's too.
    const byConsumer = await api('POST', '/v1/deliveries/replay', {
      filter: { consumer_id: 'alpha', status: 'failed' },
    });
    const byEndpoint = await api('POST', '/v1/deliveries/replay', { filter: { endpoint_id: down.id } });
    for (const bulk of [byConsumer, byEndpoint]) {
      assert.equal(bulk.body.consumer_id, world.a.con);
      assert.equal((await api('GET', `/v1/operations/${bulk.body.id}`, undefined, session)).status, 200);
    }
    const all = (await api('GET', '/v1/operations?limit=250')).body.data.map((o: { id: string }) => o.id);
    assert.ok(all.includes(started.body.id) && all.includes(op), 'the project sees every operation');
    // Beta's session: alpha's operation and endpoint are not found.
    const beta = (await openSession('beta')).token;
    assert.equal((await api('GET', `/v1/operations/${started.body.id}`, undefined, beta)).status, 404);
    assert.equal((await api('POST', `/v1/operations/${started.body.id}/cancel`, {}, beta)).status, 404);
    assert.equal((await api('POST', `/v1/endpoints/${down.id}/recover`, { since }, beta)).status, 404);
    assert.deepEqual((await api('GET', '/v1/operations', undefined, beta)).body.data, []);
  });

  it('may only read when opened read-only, on every route; says so of itself', async () => {
    const readOnly = await openSession('alpha', { read_only: true, expires_in_s: 600 });
    const evtype = 'read.only';
    await api('POST', '/v1/event-types', { name: evtype });
    assert.equal((readOnly as { read_only?: boolean }).read_only, true);
    assert.equal(((await openSession('alpha')) as { read_only?: boolean }).read_only, false);
    assert.equal(
      (await api('POST', '/v1/consumers/alpha/portal-sessions', { read_only: 'yes' })).status,
      422,
    );
    const before = {
      endpoint: (await api('GET', `/v1/endpoints/${world.a.ep}`)).body,
      deliveries: (await api('GET', '/v1/deliveries?limit=250')).body.data.length,
    };
    for (const [method, template] of ROUTES) {
      const route = `${method} ${template}`;
      const forA = template.replace(/\{(\w+)\}/g, (_, kind: string) =>
        kind === 'op'
          ? alphaOp
          : kind === 'key'
            ? keyId
            : kind === 'evtype'
              ? evtype
              : world.a[kind as keyof World],
      );
      const res = await api(
        method,
        forA,
        method === 'GET' ? undefined : (VALID_BODIES[template] ?? {}),
        readOnly.token,
      );
      if (method !== 'GET') {
        assert.equal(res.status, 403, `${route}: ${res.status} ${JSON.stringify(res.body)}`);
        // Creating projects is the admin key's alone, whoever asks.
        if (template !== '/v1/projects') assert.equal(res.body.detail, 'this portal session may only read');
      } else if (!PROJECT_ONLY.has(route))
        assert.equal(res.status, 200, `${route}: ${JSON.stringify(res.body)}`);
    }
    // Nothing changed, and reads go on as for any session.
    assert.deepEqual((await api('GET', `/v1/endpoints/${world.a.ep}`)).body, before.endpoint);
    assert.equal((await api('GET', '/v1/deliveries?limit=250')).body.data.length, before.deliveries);
    const self = await api('GET', '/v1/portal-session', undefined, readOnly.token);
    assert.deepEqual(self.body, {
      id: readOnly.id,
      consumer_id: world.a.con,
      consumer_name: 'alpha',
      expires_at: readOnly.expires_at,
      read_only: true,
    });
    assert.equal((await api('GET', '/v1/portal-session', undefined, session)).body.read_only, false);
    assert.equal((await api('GET', '/v1/portal-session')).status, 403, 'an API key has no session');
  });

  it('refuses a wrong, expired or revoked token with 401', async () => {
    const wrong = `${session.slice(0, -4)}AAAA`;
    assert.equal((await api('GET', '/v1/endpoints', undefined, wrong)).status, 401);
    assert.equal((await api('GET', '/v1/endpoints', undefined, 'hfps_nonsense')).status, 401);

    const expiring = await openSession('alpha');
    assert.equal((await api('GET', '/v1/endpoints', undefined, expiring.token)).status, 200);
    await PortalSession.updateOne(
      { _id: expiring.id },
      { $set: { expires_at: new Date(Date.now() - 1000) } },
    );
    assert.equal((await api('GET', '/v1/endpoints', undefined, expiring.token)).status, 401);

    const betaSession = await openSession('beta');
    assert.equal((await api('DELETE', '/v1/consumers/alpha/portal-sessions')).status, 204);
    const revoked = await api('GET', '/v1/endpoints', undefined, session);
    assert.equal(revoked.status, 401);
    assert.deepEqual(revoked.body, { detail: 'invalid, expired or revoked portal session' });
    assert.equal((await api('GET', '/v1/endpoints', undefined, betaSession.token)).status, 200);
  });
});

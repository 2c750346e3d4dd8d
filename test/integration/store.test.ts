// The embedded store at scale (tools/ferretdb/patch.mjs): filters on indexed fields and `_id` order are pushed
// down to SQLite. Checked against the real FerretDB two ways: random queries give what FerretDB's own
// evaluation gives (the same query in a form it cannot push down), and every query hookflow makes while its
// API and worker do their work is served by an index, not a scan of a collection that grows.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import mongoose from 'mongoose';
import { dropReplacedIndexes } from '../../src/db';
import { activeEndpointsOf } from '../../src/endpoints/recipients-cache';
import { COPY_TRUST_MS, routingStamp } from '../../src/endpoints/routing-stamp';
import { assertPublishable } from '../../src/event-types/routes';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';

// biome-ignore lint/suspicious/noExplicitAny: documents and filters of every shape.
type Doc = any;

// Values of every type the pushdown converts, and some it leaves alone, with strings whose JSON escaping
// would order them differently (space, quote, <, non-ASCII).
const scalar = fc.oneof(
  fc.constantFrom('', 'a', 'a b', 'a"b', 'a<b', 'ab', 'b', 'é', 'Z'),
  fc.integer({ min: -2, max: 2 }),
  fc.constantFrom(1.5, -0.5),
  fc.constantFrom(new Date(1_000_000), new Date(1_000_001), new Date(2_000_000)),
  fc.boolean(),
  fc.constant(null),
);
const FIELDS = ['a', 'b', 'c', '_id', 'n', 'tags'] as const;
const condition = fc.oneof(
  scalar,
  fc.record({ $eq: scalar }),
  fc.record({ $gt: scalar }),
  fc.record({ $gte: scalar, $lt: scalar }),
  fc.record({ $lte: scalar }),
  fc.record({ $in: fc.array(scalar, { minLength: 1, maxLength: 3 }) }),
  fc.record({ $ne: scalar }),
  fc.record({ $exists: fc.boolean() }),
);
const ids = fc.constantFrom('d 1', 'd"2', 'd<3', 'd4', 'dé5', 'd6', 'D7');
const filter = fc
  .array(
    fc.tuple(fc.constantFrom(...FIELDS), condition).map(([field, c]) => ({ [field]: c })),
    { minLength: 1, maxLength: 3 },
  )
  .chain((parts) =>
    fc.boolean().map((nested) => (nested ? { $and: parts } : Object.assign({}, ...parts.reverse()))),
  );

function db() {
  const connected = mongoose.connection.db;
  if (!connected) throw new Error('not connected');
  return connected;
}

function documents(count: number): Doc[] {
  const sample = fc.sample(scalar, { numRuns: count * 3, seed: 42 });
  const ref = fc.sample(ids, { numRuns: count, seed: 7 });
  return Array.from({ length: count }, (_, i) => {
    const doc: Doc = { _id: `${ref[i]}-${i}`, n: i, tags: [sample[i], 'x'] };
    // Some fields missing: MongoDB's null-or-missing.
    if (i % 7 !== 0) doc.a = sample[i * 3];
    if (i % 5 !== 0) doc.b = sample[i * 3 + 1];
    doc.c = sample[i * 3 + 2];
    return doc;
  });
}

describe('the embedded store', () => {
  const h = useStack({ project: 'store' });

  describe('pushed-down queries', () => {
    let collection: mongoose.mongo.Collection<Doc>;
    before(async () => {
      collection = db().collection('store_check');
      await collection.createIndex({ a: 1, _id: 1 });
      await collection.createIndex({ b: 1, c: 1, _id: 1 });
      await collection.insertMany(documents(300));
    });
    after(async () => {
      await collection.drop();
    });

    it('give what FerretDB gives without pushdown, in the same order', async () => {
      await fc.assert(
        fc.asyncProperty(
          filter,
          fc.constantFrom(1, -1),
          fc.integer({ min: 1, max: 40 }),
          async (f, dir, limit) => {
            // $or and a second sort key are not pushed down: FerretDB reads everything and evaluates itself.
            const reference = { $or: [f] };
            const [sorted, expected] = await Promise.all([
              collection.find(f).sort({ _id: dir }).limit(limit).toArray(),
              collection.find(reference).sort({ _id: dir, n: 1 }).limit(limit).toArray(),
            ]);
            assert.deepEqual(
              sorted.map((d) => d._id),
              expected.map((d) => d._id),
              JSON.stringify(f),
            );
            const [all, allExpected, count] = await Promise.all([
              collection.find(f).toArray(),
              collection.find(reference).toArray(),
              collection.countDocuments(f),
            ]);
            const byId = (docs: Doc[]) => docs.map((d) => d._id).sort();
            assert.deepEqual(byId(all), byId(allExpected), JSON.stringify(f));
            assert.equal(count, allExpected.length);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('are pushed down (the differential test above would pass without the patch too)', async () => {
      const plan = await collection
        .find({ a: 'a', _id: { $lt: 'd6' } })
        .sort({ _id: -1 })
        .explain();
      assert.equal(plan.filterPushdown, true);
      assert.equal(plan.sortPushdown, true);
      assert.match(JSON.stringify(plan.queryPlanner), /USING INDEX store_check_\w+_a_1__id_1/);
    });

    it('updates and deletes by _id touch only that document', async () => {
      await collection.insertMany([
        { _id: 'same', v: 1 },
        { _id: 'other', v: 1 },
      ]);
      await collection.updateOne({ _id: 'same' }, { $set: { v: 2 } });
      assert.deepEqual(
        (await collection.find({ _id: { $in: ['same', 'other'] } }).toArray())
          .map((d) => [d._id, d.v])
          .sort(),
        [
          ['other', 1],
          ['same', 2],
        ],
      );
      assert.equal((await collection.deleteMany({ _id: { $in: ['same', 'nothing'] } })).deletedCount, 1);
      assert.equal(await collection.countDocuments({ _id: 'other' }), 1);
    });
  });

  it('drops at start the indexes earlier versions made that the ones ending in _id replaced, and only those', async () => {
    const deliveries = db().collection('deliveries');
    await deliveries.createIndex({ project_id: 1, status: 1 });
    await deliveries.createIndex({ project_id: 1, url: 1 });
    await dropReplacedIndexes(mongoose);
    const names = (await deliveries.indexes()).map((index) => index.name);
    assert.ok(!names.includes('project_id_1_status_1'), names.join());
    assert.ok(names.includes('project_id_1_url_1'), 'an index hookflow never made stays');
    assert.ok(names.includes('project_id_1_status_1__id_1'));
    await deliveries.dropIndex('project_id_1_url_1');
  });

  it('rebuilds at start an index an earlier build made on JSON text, on values', async () => {
    const collection = db().collection<Doc>('store_upgrade');
    await collection.createIndex({ u: 1, _id: 1 });
    await collection.insertMany([
      { _id: 'a', u: 'x' },
      { _id: 'b', u: 'y' },
    ]);
    // The embedded FerretDB's SQLite file, from its command line.
    const [, ferretPid] = h.stack.pids();
    const args = readFileSync(`/proc/${ferretPid}/cmdline`, 'utf8').split('\0');
    const file = join(args[args.indexOf('-dir') + 1], 'hookflow.sqlite');
    // The index as FerretDB's own build made it (it still works, but no condition is pushed down to it).
    execFileSync('python3', [
      '-c',
      `import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
table = db.execute("SELECT table_name FROM _ferretdb_collections WHERE name = 'store_upgrade'").fetchone()[0]
name = table + '_u_1__id_1'
db.execute('DROP INDEX "%s"' % name)
db.execute('CREATE INDEX "%s" ON "%s" (_ferretdb_sjson->"u", _ferretdb_sjson->"_id")' % (name, table))
db.commit()`,
      file,
    ]);
    const indexSql = () =>
      execFileSync('python3', [
        '-c',
        `import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT sql FROM sqlite_master WHERE name LIKE 'store_upgrade%_u_1__id_1'").fetchone()[0])`,
        file,
      ]).toString();
    assert.match(indexSql(), /_ferretdb_sjson->"u"/);
    await h.stack.restartFerretDB();
    await eventually(
      async () => indexSql(),
      (sql) => sql.includes(`_ferretdb_sjson->>'$.u', _ferretdb_sjson->>'$._id'`),
    );
    assert.deepEqual(
      (await collection.find({ u: 'x' }).toArray()).map((d) => d._id),
      ['a'],
    );
    await collection.drop();
  });

  it('routes a publish to the whole project by its endpoints as they are after every change', async () => {
    // The API keeps the project's endpoints in memory (src/endpoints/recipients-cache.ts): each change, by
    // the API or by the worker, must reach the very next publish.
    const type = 'stamp.check';
    const total = async () => (await h.publish({ event_type: type, payload: {} })).deliveries_total;
    assert.equal(await total(), 0);
    const a = await h.createEndpoint('/stamp-a', { event_types: [type] });
    assert.equal(await total(), 1);
    const b = await h.createEndpoint('/stamp-b', { event_types: ['stamp.*'] });
    assert.equal(await total(), 2);
    assert.equal((await h.api('PATCH', `/v1/endpoints/${b.id}`, { status: 'paused' })).status, 200);
    assert.equal(await total(), 1);
    assert.equal(
      (await h.api('PATCH', `/v1/endpoints/${b.id}`, { event_types: ['other'], status: 'active' })).status,
      200,
    );
    assert.equal(await total(), 1);
    // The worker disables `a` on its 410.
    h.receiver.script('/stamp-a', status(410));
    await h.publish({ event_type: type, payload: {} });
    // (Whichever of its deliveries gets the 410 first: the earlier ones may still be under way.)
    await eventually(
      () => h.api('GET', `/v1/endpoints/${a.id}`),
      (r) => r.body.status === 'disabled',
    );
    assert.equal(await total(), 0);
    assert.equal((await h.api('PATCH', `/v1/endpoints/${b.id}`, { event_types: [type] })).status, 200);
    assert.equal(await total(), 1);
    assert.equal((await h.api('DELETE', `/v1/endpoints/${b.id}`)).status, 204);
    assert.equal(await total(), 0);
  });

  // The one change a routing stamp cannot announce: a write whose process died before its stamp. Simulated by
  // putting the project's stamp back as it was before the write.
  async function missStamp(projectId: string, write: () => Promise<unknown>) {
    const stamps = db().collection<Doc>('routing_stamps');
    const before = await stamps.findOne({ _id: projectId });
    await write();
    await stamps.replaceOne({ _id: projectId }, before);
  }

  it('reads a copy of the endpoints again once it is older than a minute, even when no stamp said so', async (t) => {
    const project = await h.createProject('trust-recipients');
    const a = await h.createEndpoint('/trust-a', {}, project.key);
    const ids = async () => (await activeEndpointsOf(project.id)).map((e) => e._id).sort();
    assert.deepEqual(await ids(), [a.id]);
    let b: Doc;
    await missStamp(project.id, async () => {
      b = await h.createEndpoint('/trust-b', {}, project.key);
    });
    assert.deepEqual(await ids(), [a.id], 'trusted while the stamp is unchanged and the copy is fresh');
    // A minute later the copy is used once more, and read again meanwhile.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + COPY_TRUST_MS + 1_000 });
    assert.deepEqual(await ids(), [a.id]);
    t.mock.timers.reset();
    await eventually(ids, (found) => found.length === 2);
    assert.deepEqual(await ids(), [a.id, b.id].sort());
  });

  it('starts a copy of the catalogue again once it is a minute old or holds 1 000 names', async (t) => {
    const project = await h.createProject('trust-catalogue');
    const define = (name: string) =>
      h.api('POST', '/v1/event-types', { name, description: name }, project.key).then((r) => {
        assert.equal(r.status, 201, JSON.stringify(r.body));
      });
    const archive = (name: string) =>
      missStamp(project.id, () =>
        h.api('PATCH', `/v1/event-types/${name}`, { archived: true }, project.key).then((r) => {
          assert.equal(r.status, 200, JSON.stringify(r.body));
        }),
      );
    const check = async (name: string) =>
      assertPublishable(project.id, name, {}, await routingStamp(project.id)).then(
        () => 'accepted',
        (err: Error) => err.message,
      );
    await define('trust.old');
    await define('trust.many');
    assert.equal(await check('trust.old'), 'accepted');
    assert.equal(await check('trust.many'), 'accepted');
    await archive('trust.old');
    await archive('trust.many');
    assert.equal(await check('trust.old'), 'accepted', 'the copy is trusted while fresh');

    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + COPY_TRUST_MS + 1_000 });
    assert.notEqual(await check('trust.old'), 'accepted', 'a copy a minute old is started again');
    t.mock.timers.reset();

    // A fresh copy (started under the mocked clock: its age is negative now) holding trust.many as it was.
    await h.api('PATCH', '/v1/event-types/trust.many', { archived: false }, project.key);
    assert.equal(await check('trust.many'), 'accepted');
    await archive('trust.many');
    assert.equal(await check('trust.many'), 'accepted');
    for (let n = 0; n < 1_000; n++) await check(`trust.unknown.${n}`);
    assert.notEqual(await check('trust.many'), 'accepted', 'past 1 000 names the copy starts again');
  });

  it("serves every query hookflow's API and worker make from an index", async () => {
    const seen: { collection: string; method: string; filter: Doc; options: Doc }[] = [];
    mongoose.set('debug', (collection: string, method: string, ...args: unknown[]) => {
      if (['find', 'findOne', 'countDocuments', 'distinct', 'deleteMany', 'updateMany'].includes(method)) {
        const filterArg = method === 'distinct' ? args[1] : args[0];
        seen.push({
          collection,
          method,
          filter: filterArg ?? {},
          options: args[method === 'distinct' ? 2 : 1] ?? {},
        });
      }
    });
    try {
      const consumer = (await h.api('POST', '/v1/consumers', { uid: 'store-c', name: 'C' })).body;
      const endpoint = await h.createEndpoint('/store', { consumer_id: consumer.id });
      const published = await h.publishTo('/store');
      await h.waitForStatus(published.id, 'succeeded');
      await h.publish({
        event_type: 't/store',
        payload: {},
        consumer_id: consumer.id,
        idempotency_key: 'k1',
      });
      const since = new Date(Date.now() - 60_000).toISOString();
      for (const query of [
        '',
        '?status=succeeded',
        `?endpoint_id=${endpoint.id}`,
        `?consumer_id=${consumer.id}`,
        `?event_id=${published.event_id}`,
        '?event_type=t/store',
        `?since=${encodeURIComponent(since)}`,
        `?cursor=${published.id}`,
      ]) {
        assert.equal((await h.api('GET', `/v1/deliveries${query}`)).status, 200);
      }
      for (const path of [
        '/v1/events?event_type=t/store',
        '/v1/endpoints',
        '/v1/consumers',
        '/v1/operations',
      ]) {
        assert.equal((await h.api('GET', path)).status, 200);
      }
      assert.equal((await h.api('GET', `/v1/deliveries/${published.id}/attempts`)).status, 200);
      const op = await h.api('POST', '/v1/deliveries/replay', { filter: { status: 'succeeded', since } });
      assert.equal(op.status, 202, JSON.stringify(op.body));
      await h.waitForOperation(op.body.id, (o) => o.status === 'completed');
      const key = await h.api('POST', '/v1/api-keys', { name: 'store' });
      assert.equal((await h.api('GET', '/v1/endpoints', undefined, key.body.key)).status, 200);
    } finally {
      mongoose.set('debug', false);
    }

    const scans: string[] = [];
    const checked = new Set<string>();
    for (const q of seen) {
      if (q.method !== 'find' && q.method !== 'findOne') continue;
      const shape = `${q.collection} ${JSON.stringify(q.filter, (_k, v) => (typeof v === 'string' ? 's' : v))}`;
      if (checked.has(shape)) continue;
      checked.add(shape);
      const cursor = db().collection(q.collection).find(q.filter, { limit: q.options.limit });
      if (q.options.sort) cursor.sort(q.options.sort);
      const plan = await cursor.explain();
      const detail = JSON.stringify(plan.queryPlanner);
      if (!/USING (COVERING )?INDEX/.test(detail)) scans.push(`${shape}: ${detail}`);
      else if (q.options.sort?._id && !plan.sortPushdown) scans.push(`${shape} sorted in memory`);
    }
    if (process.env.SHOW_QUERIES) console.log([...checked].join('\n'));
    assert.ok(checked.size >= 15, `only ${checked.size} query shapes seen`);
    assert.deepEqual(scans, []);
  });
});

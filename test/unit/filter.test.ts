// Payload filters: random events and filters, hookflow's evaluation (sift restricted, RE2 for $regex)
// against mingo's, an independent implementation of MongoDB's query language; and the checks made on save.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Query } from 'mingo';
import { FILTER_LIMITS, filterProblem, matchesFilter } from '../../src/events/filter';

// No null: mingo and MongoDB part ways on null against missing fields, which the explicit cases below pin.
const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('a', 'b', 'abc', 'cab', ''),
  fc.boolean(),
);
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.record({ c: scalar }, { requiredKeys: [] }),
);
const event = fc.record({
  event_type: fc.constantFrom('order.paid', 'order.refunded', 'user.created'),
  payload: fc.record(
    { a: value, b: value, tags: fc.array(fc.constantFrom('x', 'y', 'z'), { maxLength: 3 }) },
    {
      requiredKeys: [],
    },
  ),
  headers: fc.record({ region: fc.constantFrom('eu', 'us') }, { requiredKeys: [] }),
});
const path = fc.constantFrom(
  'payload.a',
  'payload.b',
  'payload.b.c',
  'payload.tags',
  'event_type',
  'headers.region',
);
const comparison = fc.oneof(
  scalar,
  fc.record({ $eq: scalar }),
  fc.record({ $ne: scalar }),
  fc.record({ $in: fc.array(scalar, { maxLength: 3 }) }),
  fc.record({ $nin: fc.array(scalar, { maxLength: 3 }) }),
  fc.record({ $gt: scalar }),
  fc.record({ $gte: scalar }),
  fc.record({ $lt: scalar }),
  fc.record({ $lte: scalar }),
  fc.record({ $exists: fc.boolean() }),
  fc.record({ $size: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ $regex: fc.constantFrom('^a', 'b$', 'a.c', 'paid', '^(x|y)$') }),
  fc.record({ $not: fc.record({ $gt: fc.integer({ min: -3, max: 3 }) }) }),
);
// mingo departs from MongoDB for $size on a path through an array of sub-documents (`b.c` with `b: []`:
// MongoDB finds no value to size, mingo sizes an empty list): sift answers as MongoDB does, so that case
// is left out of the comparison.
const leaf = fc
  .tuple(path, comparison)
  .filter(([p, c]) => !(p === 'payload.b.c' && typeof c === 'object' && c !== null && '$size' in c))
  .map(([p, c]) => ({ [p]: c }));
const filter = fc.letrec((tie) => ({
  node: fc.oneof(
    { maxDepth: 3, withCrossShrink: true },
    leaf,
    fc.record({ $and: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $or: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $nor: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
  ),
})).node;

const asJson = <T>(v: T): T => JSON.parse(JSON.stringify(v));

describe('payload filters', () => {
  it('match as an independent MongoDB query engine (mingo) says, on random events and filters', () => {
    fc.assert(
      // As they arrive: JSON (plain objects, no null prototypes).
      fc.property(filter.map(asJson), event.map(asJson), (f, e) => {
        assert.equal(filterProblem(f), null, JSON.stringify(f));
        assert.equal(matchesFilter(JSON.stringify(f), e), new Query(f).test(e), JSON.stringify({ f, e }));
      }),
      { numRuns: 2000 },
    );
  });

  it('follow MongoDB where mingo does not: ordering against null, $size through an empty array', () => {
    const missing = { event_type: 'x', payload: { b: [] }, headers: {} };
    // MongoDB: {$gte: null} and {$lte: null} match null and missing fields, as equality to null does.
    assert.equal(matchesFilter(JSON.stringify({ 'payload.a': { $gte: null } }), missing), true);
    assert.equal(matchesFilter(JSON.stringify({ 'payload.a': { $lte: null } }), missing), true);
    assert.equal(matchesFilter(JSON.stringify({ 'payload.a': { $gt: null } }), missing), false);
    assert.equal(matchesFilter(JSON.stringify({ 'payload.a': null }), missing), true);
    assert.equal(matchesFilter(JSON.stringify({ 'payload.a': { $ne: null } }), missing), false);
    // No sub-document, no value to size.
    assert.equal(matchesFilter(JSON.stringify({ 'payload.b.c': { $size: 0 } }), missing), false);
  });

  it('refuse unknown operators, bad shapes, dangerous or oversized patterns, and depth', () => {
    const refused: [unknown, (string | number)[]][] = [
      [{ 'payload.a': { $where: 'sleep(1)' } }, ['payload.a', '$where']],
      [{ 'payload.a': { $elemMatch: { x: 1 } } }, ['payload.a', '$elemMatch']],
      [{ $expr: { $gt: ['$a', 1] } }, ['$expr']],
      [{ amount: 1 }, ['amount']],
      [{ $or: [] }, ['$or']],
      [{ 'payload.a': { $in: 'x' } }, ['payload.a', '$in']],
      [{ 'payload.a': { $in: Array.from({ length: 101 }, (_, n) => n) } }, ['payload.a', '$in']],
      [{ 'payload.a': { $regex: '(a)\\1' } }, ['payload.a', '$regex']],
      [{ 'payload.a': { $regex: '(?=a)' } }, ['payload.a', '$regex']],
      [{ 'payload.a': { $regex: 'a'.repeat(FILTER_LIMITS.regexLength + 1) } }, ['payload.a', '$regex']],
      [{ 'payload.a': { $regex: 'a', $options: 'x' } }, ['payload.a', '$options']],
      [{ 'payload.a': { $size: -1 } }, ['payload.a', '$size']],
      [{ 'payload.a': { $exists: 'yes' } }, ['payload.a', '$exists']],
    ];
    for (const [f, where] of refused) {
      const problem = filterProblem(f);
      assert.ok(problem, JSON.stringify(f));
      assert.deepEqual(problem.path, where, JSON.stringify(f));
    }
    let deep: Record<string, unknown> = { 'payload.a': 1 };
    for (let n = 0; n < FILTER_LIMITS.depth; n++) deep = { $and: [deep] };
    assert.match(filterProblem(deep)?.message ?? '', /deeper/);
    assert.match(filterProblem({ 'payload.a': 'x'.repeat(FILTER_LIMITS.bytes) })?.message ?? '', /bytes/);
  });

  it('runs a regex in linear time: the classic catastrophic pattern answers at once', () => {
    const f = JSON.stringify({ 'payload.s': { $regex: '^(a+)+$' } });
    // With backtracking this takes minutes on 40 characters; RE2 never backtracks.
    assert.equal(
      matchesFilter(f, { event_type: 'x', payload: { s: `${'a'.repeat(40)}!` }, headers: {} }),
      false,
    );
    assert.equal(matchesFilter(f, { event_type: 'x', payload: { s: 'aaa' }, headers: {} }), true);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesEventType, sampleEventType, subscribes } from '../../src/events/routing';

describe('event routing', () => {
  it('matches exact types, prefix.* below the prefix (one segment or more) and *', () => {
    const cases: [string, string, boolean][] = [
      ['order.paid', 'order.paid', true],
      ['order.paid', 'order.paid.late', false],
      ['order.*', 'order.paid', true],
      ['order.*', 'order.item.added', true],
      ['order.*', 'order', false],
      ['order.*', 'order.', false],
      ['order.*', 'orders.paid', false],
      ['order.item.*', 'order.item.added', true],
      ['order.item.*', 'order.paid', false],
      ['*', 'anything.at.all', true],
    ];
    for (const [pattern, type, expected] of cases)
      assert.equal(matchesEventType(pattern, type), expected, `${pattern} ~ ${type}`);
  });

  it('takes channels into account only for endpoints that have some', () => {
    const any = { event_types: [] };
    const eu = { event_types: ['order.*'], channels: ['eu', 'ch'] };
    assert.ok(subscribes(any, { event_type: 'x', channels: ['us'] }));
    assert.ok(subscribes(any, { event_type: 'x' }));
    assert.ok(subscribes(eu, { event_type: 'order.paid', channels: ['us', 'eu'] }));
    assert.ok(!subscribes(eu, { event_type: 'order.paid', channels: ['us'] }));
    assert.ok(!subscribes(eu, { event_type: 'order.paid' }), 'an event on no channel');
    assert.ok(!subscribes(eu, { event_type: 'invoice.paid', channels: ['eu'] }), 'the type still counts');
  });

  it('picks a test event type the endpoint receives', () => {
    assert.equal(sampleEventType({ event_types: [] }), 'hookflow.test');
    assert.equal(sampleEventType({ event_types: ['*'] }), 'hookflow.test');
    assert.equal(sampleEventType({ event_types: ['order.*', 'invoice.paid'] }), 'invoice.paid');
    assert.equal(sampleEventType({ event_types: ['order.*'] }), 'order.test');
  });
});

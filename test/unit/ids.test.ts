import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { derivedIds, ID_PATTERN, idTime, newId } from '../../src/ids';

describe('ids', () => {
  it('are prefixed, well-formed and sort by creation time', () => {
    const earlier = newId('dlv', Date.parse('2026-01-01T00:00:00Z'));
    const later = newId('dlv', Date.parse('2026-01-01T00:00:00.001Z'));
    assert.match(earlier, ID_PATTERN);
    assert.ok(earlier.startsWith('dlv_'));
    assert.ok(earlier < later);
    assert.notEqual(newId('ep'), newId('ep'));
  });

  it('carry their time, which derived ids take from the object they derive from', () => {
    const at = Date.parse('2026-12-03T22:30:00.123Z');
    const replay = newId('rpl', at);
    assert.equal(idTime(replay).getTime(), at);
    const derived = derivedIds.eventReplayDelivery(replay, 'ep_0000000000aaaaaaaaaa');
    assert.match(derived, ID_PATTERN);
    assert.equal(idTime(derived).getTime(), at);
    assert.equal(derived, derivedIds.eventReplayDelivery(replay, 'ep_0000000000aaaaaaaaaa'));
    assert.notEqual(derived, derivedIds.eventReplayDelivery(replay, 'ep_0000000000bbbbbbbbbb'));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ID_PATTERN, newId } from '../../src/ids';

describe('ids', () => {
  it('are prefixed, well-formed and sort by creation time', () => {
    const earlier = newId('dlv', Date.parse('2026-01-01T00:00:00Z'));
    const later = newId('dlv', Date.parse('2026-01-01T00:00:00.001Z'));
    assert.match(earlier, ID_PATTERN);
    assert.ok(earlier.startsWith('dlv_'));
    assert.ok(earlier < later);
    assert.notEqual(newId('ep'), newId('ep'));
  });
});

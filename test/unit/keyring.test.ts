import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateKeyEntry, KeyringError, parseKeys, sealedKeyId } from '../../src/secrets/keyring';

describe('encryption keyring', () => {
  const a = generateKeyEntry('a');
  const b = generateKeyEntry('b');

  it('seals with the first key and opens with any listed one', () => {
    const old = parseKeys(a);
    const sealed = old.seal('whsec_secret');
    assert.equal(sealedKeyId(sealed), 'a');
    assert.ok(!sealed.includes('whsec_secret'));
    assert.notEqual(old.seal('whsec_secret'), sealed, 'a fresh IV each time');
    const rotated = parseKeys(`${b},${a}`);
    assert.equal(rotated.primaryId, 'b');
    assert.equal(rotated.open(sealed), 'whsec_secret');
    assert.equal(sealedKeyId(rotated.seal('x')), 'b');
  });

  it('returns a value stored before encryption as it is', () => {
    assert.equal(parseKeys(a).open('whsec_c2NhbGU='), 'whsec_c2NhbGU=');
    assert.equal(sealedKeyId('whsec_c2NhbGU='), null);
  });

  it('refuses a value sealed with a key it lacks, or tampered with', () => {
    const sealed = parseKeys(a).seal('secret');
    assert.throws(() => parseKeys(b).open(sealed), /sealed with key "a", which is not configured/);
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${sealed.slice(0, -2)}${last}${sealed.at(-1)}`;
    assert.throws(() => parseKeys(a).open(tampered));
    const otherKeyUnderSameId = parseKeys(generateKeyEntry('a'));
    assert.throws(() => otherKeyUnderSameId.open(sealed), 'GCM tag fails under another key');
  });

  it('says what is wrong with a malformed key list', () => {
    const cases: [string, RegExp][] = [
      ['', /lists no key/],
      ['nokey', /entry 1 must be <id>:<base64 key>/],
      [`:${randomBytes(32).toString('base64')}`, /entry 1 must be/],
      [`k:${randomBytes(16).toString('base64')}`, /key "k" must be base64 of 32 bytes/],
      ['k:not base64 at all!!', /key "k" must be base64 of 32 bytes/],
      [`${a},${a}`, /lists key "a" twice/],
      [`bad id!:${randomBytes(32).toString('base64')}`, /entry 1 must be/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(
        () => parseKeys(spec),
        (err: unknown) => err instanceof KeyringError && message.test(err.message),
      );
    }
    assert.deepEqual(parseKeys(` ${a} , ${b} `).ids, ['a', 'b']);
    assert.deepEqual(parseKeys(`${b}\n${a}\n`).ids, ['b', 'a'], 'one per line, as in the data folder');
  });
});

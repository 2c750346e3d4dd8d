import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateKeyPair, generateSecret, isValidSecret, signatureHeader } from '../../src/signing';

describe('signing', () => {
  const body = JSON.stringify({ hello: 'wörld', n: [1, 2] });
  const id = 'evt_01m84a7tkgrvtw4j9606';

  it('produces signatures the official standardwebhooks package verifies', () => {
    const secret = generateSecret();
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader([secret], id, timestamp, body),
    };
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(generateSecret()).verify(body, headers));
    assert.throws(() => new Webhook(secret).verify(`${body} `, headers));
  });

  it('signs with every valid secret, space-separated, each verifying on its own', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signatureHeader([a, b], id, timestamp, body);
    assert.equal(signature.split(' ').length, 2);
    for (const secret of [a, b]) {
      new Webhook(secret).verify(body, {
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      });
    }
  });

  it('matches the Standard Webhooks reference vector', () => {
    // From the Standard Webhooks specification's examples.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const signature = signatureHeader(
      [secret],
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    assert.equal(signature, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('accepts only whsec_ secrets of 24 to 64 bytes', () => {
    assert.ok(isValidSecret(generateSecret()));
    assert.ok(!isValidSecret('whsec_c2hvcnQ='));
    assert.ok(!isValidSecret('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'));
    assert.ok(!isValidSecret('whsec_not base64!'));
  });
});

describe('ed25519 signing (Standard Webhooks v1a)', () => {
  const body = '{"n":1}';
  const id = 'evt_01m84a7tkgrvtw4j9606';

  /** Verification as the specification gives it: the whpk_ key is the raw public key, base64. */
  function verifiesV1a(publicKey: string, signature: string, timestamp: number): boolean {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice(5), 'base64').toString('base64url') },
      format: 'jwk',
    });
    return signature
      .split(' ')
      .filter((s) => s.startsWith('v1a,'))
      .some((s) =>
        verify(null, Buffer.from(`${id}.${timestamp}.${body}`), key, Buffer.from(s.slice(4), 'base64')),
      );
  }

  it('signs v1a with a whsk_ key, verified with its whpk_ public key', () => {
    const { privateKey, publicKey } = generateKeyPair();
    assert.match(privateKey, /^whsk_[A-Za-z0-9+/]{43}=$/);
    assert.match(publicKey, /^whpk_[A-Za-z0-9+/]{43}=$/);
    const ts = 1_700_000_000;
    const signature = signatureHeader([privateKey], id, ts, body);
    assert.match(signature, /^v1a,[A-Za-z0-9+/]{86}==$/);
    assert.ok(verifiesV1a(publicKey, signature, ts));
    assert.ok(!verifiesV1a(generateKeyPair().publicKey, signature, ts), 'another key does not verify');
    assert.ok(!verifiesV1a(publicKey, signature, ts + 1), 'the timestamp is signed');
  });

  it('signs with HMAC and ed25519 keys side by side (a rotation between schemes)', () => {
    const secret = generateSecret();
    const { privateKey, publicKey } = generateKeyPair();
    const ts = Math.floor(Date.now() / 1000);
    const signature = signatureHeader([secret, privateKey], id, ts, body);
    assert.deepEqual(
      signature.split(' ').map((s) => s.split(',')[0]),
      ['v1', 'v1a'],
    );
    assert.ok(verifiesV1a(publicKey, signature, ts));
    new Webhook(secret).verify(body, {
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signature,
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateSecret, isValidSecret, signatureHeader } from '../../src/signing';

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

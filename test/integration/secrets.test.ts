// Secrets at rest and the signatures they make: signing secrets, ed25519 private keys and outbound credentials
// are stored sealed (read here straight from MongoDB), keys rotate with `rotate-keys`, and a start-up that lacks
// a key the data needs is refused with a clear message.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import mongoose from 'mongoose';
import { Endpoint } from '../../src/endpoints/model';
import { newId } from '../../src/ids';
import { generateKeyEntry, keyring, parseKeys, useKeyring } from '../../src/secrets/keyring';
import { checkStoredKeys } from '../../src/secrets/stored-keys';
import { generateSecret } from '../../src/signing';
import { useStack } from '../helpers/harness';
import type { ReceivedRequest } from '../helpers/receiver';
import { TEST_ENCRYPTION_KEYS } from '../helpers/stack';
import { runHookflow, spawnHookflow } from '../helpers/worker-process';

const schemes = (req: ReceivedRequest) =>
  String(req.headers['webhook-signature'])
    .split(' ')
    .map((s) => s.split(',')[0]);

describe('secrets at rest and asymmetric signatures', () => {
  const h = useStack({ project: 'secrets' });
  const storedEndpoints = async () =>
    (await mongoose.connection.db?.collection('endpoints').find({ project_id: h.projectId }).toArray()) ?? [];
  const given = generateSecret();
  let hmacId = '';

  it('stores signing secrets, private keys and credentials sealed: MongoDB holds none of them in clear', async () => {
    const hmac = await h.createEndpoint('/sealed-hmac', {
      secret: given,
      auth: { type: 'bearer', token: 'tok-bearer-0123456789' },
    });
    hmacId = hmac.id;
    assert.equal(hmac.secret, given);
    const ed = await h.createEndpoint('/sealed-ed', {
      signing: 'ed25519',
      auth: { type: 'basic', username: 'hook-user', password: 'pw-basic-0123456789' },
    });
    const rotated = await h.api('POST', `/v1/endpoints/${hmac.id}/secret/rotate`, { grace_period_s: 600 });
    assert.equal(rotated.status, 200);

    const stored = await storedEndpoints();
    const raw = JSON.stringify(stored);
    for (const clear of [
      given,
      given.slice(6),
      rotated.body.secret.slice(6),
      'tok-bearer',
      'pw-basic',
      'whsk_',
    ])
      assert.ok(!raw.includes(clear), `${clear.slice(0, 12)}… is stored in clear`);
    const sealed = stored.flatMap((e) => [
      ...e.secrets.map((s: { secret: string }) => s.secret),
      e.auth?.credentials,
    ]);
    assert.equal(sealed.length, 5);
    for (const value of sealed) assert.match(value, /^hfenc1:test:/);

    // Reads say which authentication is set, never its credentials; the ed25519 public key is readable.
    const read = await h.api('GET', `/v1/endpoints/${ed.id}`);
    assert.deepEqual(read.body.auth, { type: 'basic' });
    assert.equal(read.body.signing, 'ed25519');
    assert.equal(read.body.public_key, ed.public_key);
    assert.ok(!JSON.stringify(read.body).includes('hook-user'));

    // Sealed secrets still sign.
    await h.publishTo('/sealed-hmac');
    const [req] = await h.receiver.waitFor('/sealed-hmac', 1);
    assert.ok(h.verifies(given, req) && h.verifies(rotated.body.secret, req));
  });

  it('signs ed25519 endpoints with v1a, the private key never shown, and rotates keys and schemes', async () => {
    const ep = await h.createEndpoint('/ed', { signing: 'ed25519' });
    assert.ok(!('secret' in ep), 'no secret in the creation answer');
    assert.match(ep.public_key, /^whpk_[A-Za-z0-9+/]{43}=$/);
    assert.equal(ep.signing, 'ed25519');
    await h.publishTo('/ed');
    const [first] = await h.receiver.waitFor('/ed', 1);
    assert.deepEqual(schemes(first), ['v1a']);
    assert.ok(h.verifiesPublicKey(ep.public_key, first));

    // A new key: both sign during the grace period.
    const next = await h.api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { grace_period_s: 600 });
    assert.equal(next.status, 200);
    assert.ok(!('secret' in next.body));
    assert.notEqual(next.body.public_key, ep.public_key);
    await h.publishTo('/ed');
    const [, second] = await h.receiver.waitFor('/ed', 2);
    assert.deepEqual(schemes(second), ['v1a', 'v1a']);
    assert.ok(
      h.verifiesPublicKey(ep.public_key, second) && h.verifiesPublicKey(next.body.public_key, second),
    );

    // To HMAC: the new shared secret is shown once; the ed25519 keys sign on through their grace period.
    const toHmac = await h.api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { signing: 'hmac' });
    assert.equal(toHmac.status, 200);
    assert.match(toHmac.body.secret, /^whsec_/);
    assert.equal(toHmac.body.signing, 'hmac');
    assert.equal(toHmac.body.public_key, null);
    await h.publishTo('/ed');
    const [, , third] = await h.receiver.waitFor('/ed', 3);
    assert.deepEqual(schemes(third), ['v1a', 'v1a', 'v1']);
    assert.ok(h.verifies(toHmac.body.secret, third), 'standardwebhooks verifies the v1 signature');
    assert.ok(h.verifiesPublicKey(next.body.public_key, third));

    // Private keys are hookflow's own: none can be given; unknown schemes are refused.
    for (const [path, body] of [
      ['/v1/endpoints', { url: h.receiver.url('/x'), signing: 'ed25519', secret: generateSecret() }],
      ['/v1/endpoints', { url: h.receiver.url('/x'), signing: 'rsa' }],
      [`/v1/endpoints/${ep.id}/secret/rotate`, { signing: 'ed25519', secret: generateSecret() }],
      [`/v1/endpoints/${next.body.id}/secret/rotate`, { signing: 'ed25519', secret: 'whsk_abc' }],
    ] as const) {
      const res = await h.api('POST', path, body);
      assert.equal(res.status, 422, JSON.stringify(res.body));
    }
    const edAgain = await h.createEndpoint('/ed2', { signing: 'ed25519' });
    const refused = await h.api('POST', `/v1/endpoints/${edAgain.id}/secret/rotate`, {
      secret: generateSecret(),
    });
    assert.equal(refused.status, 422, 'a secret for an ed25519 endpoint');
    assert.match(JSON.stringify(refused.body), /generated by hookflow/);
  });

  it('seals secrets stored in clear by an earlier version at the first start with encryption', async () => {
    const secret = generateSecret();
    const id = newId('ep');
    // As an earlier version stored it: the model's hooks still tell the API of the new endpoint.
    await Endpoint.create({
      _id: id,
      project_id: h.projectId,
      url: h.receiver.url('/legacy'),
      event_types: ['t/legacy'],
      secrets: [{ secret, expires_at: null, created_at: new Date() }],
    });
    // Signs while still in clear.
    await h.publishTo('/legacy');
    assert.ok(h.verifies(secret, (await h.receiver.waitFor('/legacy', 1))[0]));
    await mongoose.connection.db?.collection('encryption_keys').deleteMany({});
    await checkStoredKeys(keyring());
    const [doc] = (await storedEndpoints()).filter((e) => String(e._id) === id);
    assert.match(doc.secrets[0].secret, /^hfenc1:test:/);
    await h.publishTo('/legacy');
    assert.ok(h.verifies(secret, (await h.receiver.waitFor('/legacy', 2))[1]));
  });

  it('npm start generates a key into its data folder once; other roles without keys refuse to start', async () => {
    const home = mkdtempSync(join(tmpdir(), 'hookflow-home-'));
    try {
      // A database of its own: this file's is sealed with the test keys, which a new key could not open.
      const target = { ...h.stack, mongoUri: h.stack.mongoUri.replace(/\/hookflow$/, '/hookflow_generated') };
      // A task queue of its own too: its worker must not take this file's deliveries, sealed with other keys.
      const env = {
        HOOKFLOW_HOME: home,
        HOOKFLOW_ENCRYPTION_KEYS: undefined,
        HOOKFLOW_TASK_QUEUE: 'generated-keys',
        LOG_LEVEL: 'warn',
      };
      const first = await spawnHookflow(target, 'all', env);
      await first.kill('SIGTERM');
      const file = join(home, 'data', 'encryption-keys');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const generated = readFileSync(file, 'utf8').trim();
      assert.match(generated, /^k\d{8}:[A-Za-z0-9+/]{43}=$/);
      // Kept, and used again: the data it sealed still opens.
      const second = await spawnHookflow(target, 'all', env);
      await second.kill('SIGTERM');
      assert.equal(readFileSync(file, 'utf8').trim(), generated);

      // Against the database sealed with other keys, a freshly generated key is refused, saying why.
      const elsewhere = { ...env, HOOKFLOW_HOME: mkdtempSync(join(tmpdir(), 'hookflow-home-')) };
      const refused = await runHookflow(h.stack, 'all', elsewhere);
      assert.equal(refused.code, 1);
      assert.match(
        refused.output,
        /stored secrets are sealed with "test".*which HOOKFLOW_ENCRYPTION_KEYS does not list/,
      );
      rmSync(elsewhere.HOOKFLOW_HOME, { recursive: true, force: true });

      const noKeys = await runHookflow(h.stack, 'worker', { ...env, HOOKFLOW_HOME: join(home, 'empty') });
      assert.equal(noKeys.code, 1);
      assert.match(noKeys.output, /HOOKFLOW_ENCRYPTION_KEYS is not set and .*encryption-keys does not exist/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('rotate-keys reseals everything with the first key; a start-up without a needed key is refused', async () => {
    const next = generateKeyEntry('next');
    const rotated = await runHookflow(h.stack, 'rotate-keys', {
      HOOKFLOW_ENCRYPTION_KEYS: `${next},${TEST_ENCRYPTION_KEYS}`,
    });
    assert.equal(rotated.code, 0, rotated.output);
    assert.match(rotated.output, /resealed the secrets of \d+ endpoints with key "next"/);
    const stored = await storedEndpoints();
    for (const e of stored) {
      for (const s of e.secrets) assert.match(s.secret, /^hfenc1:next:/);
      if (e.auth) assert.match(e.auth.credentials, /^hfenc1:next:/);
    }
    // This file's own worker gets the new key too, and what it signs still verifies with the same secret.
    useKeyring(parseKeys(`${next},${TEST_ENCRYPTION_KEYS}`));
    await h.publishTo('/sealed-hmac');
    assert.ok(h.verifies(given, (await h.receiver.waitFor('/sealed-hmac', 2))[1]));
    assert.ok(hmacId);

    // The old key alone no longer opens the data: refused, saying which key is missing, and no key material.
    const refused = await runHookflow(h.stack, 'api', { HOOKFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS });
    assert.equal(refused.code, 1);
    assert.match(refused.output, /sealed with "next", which HOOKFLOW_ENCRYPTION_KEYS does not list/);
    for (const entry of [next, TEST_ENCRYPTION_KEYS])
      assert.ok(!refused.output.includes(entry.split(':')[1]));

    const malformed = await runHookflow(h.stack, 'worker', { HOOKFLOW_ENCRYPTION_KEYS: 'next:short' });
    assert.equal(malformed.code, 1);
    assert.match(malformed.output, /key "next" must be base64 of 32 bytes/);

    // The new key alone is enough now.
    const api = await spawnHookflow(h.stack, 'api', { HOOKFLOW_ENCRYPTION_KEYS: next, LOG_LEVEL: 'warn' });
    await api.kill('SIGTERM');
  });
});

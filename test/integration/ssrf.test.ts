// The SSRF guard with HOOKFLOW_ALLOW_PRIVATE_TARGETS off: refused when an endpoint is saved, and again at
// send time after DNS resolution, whatever got into the database.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sealAuth } from '../../src/endpoints/credentials';
import { Endpoint } from '../../src/endpoints/model';
import { newId } from '../../src/ids';
import { generateSecret } from '../../src/signing';
import { useStack } from '../helpers/harness';
import { eventually } from '../helpers/stack';

describe('SSRF guard', () => {
  const h = useStack({ project: 'ssrf', allowPrivateTargets: false });
  const { api } = h;

  it('refuses endpoint URLs that are or resolve to non-public addresses', async () => {
    const refused = [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://172.16.0.1/hook',
      'http://192.168.1.1/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.100.100.200/',
      'http://0.0.0.0/',
      'http://[::1]/hook',
      'http://[fd00:ec2::254]/',
      'http://[fe80::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://224.0.0.1/',
    ];
    for (const url of refused) {
      // Operational endpoints obey the same policy.
      for (const base of ['/v1/endpoints', '/v1/operational-endpoints']) {
        const res = await api('POST', base, { url });
        assert.equal(res.status, 422, `${base} ${url}`);
        assert.deepEqual(res.body.detail[0].loc, ['body', 'url'], url);
      }
    }
    // A public address is accepted (nothing is ever published to it here).
    const ok = await api('POST', '/v1/endpoints', { url: 'https://93.184.216.34/hook', status: 'paused' });
    assert.equal(ok.status, 201);
    const moved = await api('PATCH', `/v1/endpoints/${ok.body.id}`, { url: 'http://127.0.0.1/x' });
    assert.equal(moved.status, 422);
    assert.equal((await api('DELETE', `/v1/endpoints/${ok.body.id}`)).status, 204);
  });

  it('refuses at send time, after resolution, targets that got past the first check', async () => {
    // As if DNS had changed since the endpoint was saved: the documents go straight into MongoDB.
    const urls = {
      byName: h.receiver.url('/by-name').replace('127.0.0.1', 'localhost'),
      byAddress: h.receiver.url('/by-address'),
    };
    for (const [name, url] of Object.entries(urls)) {
      await Endpoint.create({
        _id: newId('ep'),
        project_id: h.projectId,
        url,
        event_types: [`rebind.${name}`],
        retry: { max_attempts: 3, initial_interval_ms: 100, backoff_coefficient: 1, max_interval_ms: 100 },
        secrets: [{ secret: generateSecret(), expires_at: null, created_at: new Date() }],
      });
      const event = await api('POST', '/v1/events', { event_type: `rebind.${name}`, payload: {} });
      const id = event.body.deliveries[0].id;
      const view = await eventually(
        () => api('GET', `/v1/deliveries/${id}`).then((r) => r.body),
        (d) => d.status === 'failed',
      );
      assert.equal(view.attempts, 1, 'not retried');
      assert.match(view.last_error, /SSRF guard/);
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.receiver.requests.length, 0, 'nothing reached the private receiver');
  });

  it('holds OAuth2 token URLs to the same policy, when saved and when fetched', async () => {
    const auth = {
      type: 'oauth2_client_credentials',
      token_url: 'http://127.0.0.1:9/token',
      client_id: 'c',
      client_secret: 's',
    };
    const refused = await api('POST', '/v1/endpoints', { url: 'https://93.184.216.34/hook', auth });
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.body.detail[0].loc, ['body', 'auth', 'token_url']);
    const ok = await api('POST', '/v1/endpoints', { url: 'https://93.184.216.34/hook', status: 'paused' });
    const patched = await api('PATCH', `/v1/endpoints/${ok.body.id}`, { auth });
    assert.equal(patched.status, 422);

    // Stored regardless (as if the name had changed since): the token request is refused at send time.
    await Endpoint.create({
      _id: newId('ep'),
      project_id: h.projectId,
      url: 'https://93.184.216.34/hook',
      event_types: ['rebind.token'],
      retry: { max_attempts: 3, initial_interval_ms: 100, backoff_coefficient: 1, max_interval_ms: 100 },
      secrets: [{ secret: generateSecret(), expires_at: null, created_at: new Date() }],
      auth: sealAuth({
        ...auth,
        type: 'oauth2_client_credentials',
        token_url: h.receiver.url('/token').replace('127.0.0.1', 'localhost'),
      }),
    });
    const event = await api('POST', '/v1/events', { event_type: 'rebind.token', payload: {} });
    const view = await eventually(
      () => api('GET', `/v1/deliveries/${event.body.deliveries[0].id}`).then((r) => r.body),
      (d) => d.status === 'failed',
    );
    assert.equal(view.attempts, 1, 'not retried');
    assert.match(
      view.last_error,
      /^the OAuth2 token request failed: blocked by the SSRF guard: localhost resolves to/,
    );
    assert.equal(h.receiver.on('/token').length, 0);
  });
});

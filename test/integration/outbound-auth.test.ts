// Endpoints that authenticate hookflow: basic, bearer and header credentials on every request, and OAuth2
// client-credentials tokens fetched from a token endpoint on the loopback receiver, cached, and renewed on a 401.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useStack } from '../helpers/harness';
import { type ReceivedRequest, status } from '../helpers/receiver';

const ONCE = { max_attempts: 1 };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('outbound authentication', () => {
  const h = useStack({ project: 'outbound-auth' });

  /** A token endpoint answering each fetch with the next token; returns its requests. */
  function tokenEndpoint(path: string, answers: (n: number) => [number, object]): ReceivedRequest[] {
    let n = 0;
    h.receiver.script(path, (_req, res) => {
      const [code, body] = answers(++n);
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    return h.receiver.requests;
  }

  it('sends basic, bearer and header credentials, and stops when they are removed', async () => {
    const settings = {
      '/auth-basic': { type: 'basic', username: 'hook', password: 'p@ss:word' },
      '/auth-bearer': { type: 'bearer', token: 'tok-static' },
      '/auth-header': { type: 'header', name: 'X-Api-Key', value: 'key-123' },
    };
    const ids: Record<string, string> = {};
    // The endpoint's own authorization header is overridden by its credentials.
    for (const [path, auth] of Object.entries(settings))
      ids[path] = (await h.createEndpoint(path, { auth, headers: { authorization: 'Bearer not-this' } })).id;
    for (const path of Object.keys(settings)) await h.publishTo(path);
    const [b] = await h.receiver.waitFor('/auth-basic', 1);
    assert.equal(b.headers.authorization, basic('hook', 'p@ss:word'));
    const [t] = await h.receiver.waitFor('/auth-bearer', 1);
    assert.equal(t.headers.authorization, 'Bearer tok-static');
    const [x] = await h.receiver.waitFor('/auth-header', 1);
    assert.equal(x.headers['x-api-key'], 'key-123');
    assert.equal(x.headers.authorization, 'Bearer not-this');

    const read = await h.api('GET', `/v1/endpoints/${ids['/auth-header']}`);
    assert.deepEqual(read.body.auth, { type: 'header', name: 'X-Api-Key' });
    assert.ok(!JSON.stringify(read.body).includes('key-123'));

    const removed = await h.api('PATCH', `/v1/endpoints/${ids['/auth-bearer']}`, { auth: null });
    assert.equal(removed.body.auth, null);
    await h.publishTo('/auth-bearer');
    const [, after] = await h.receiver.waitFor('/auth-bearer', 2);
    assert.equal(after.headers.authorization, 'Bearer not-this', 'the endpoint header again, no credential');
  });

  it('fetches an OAuth2 client-credentials token once, reuses it, and renews it once on a 401', async () => {
    const requests = tokenEndpoint('/oauth/token', (n) => [
      200,
      { access_token: `tok-${n}`, token_type: 'Bearer', expires_in: 3600 },
    ]);
    const tokenRequests = () => requests.filter((r) => r.path === '/oauth/token');
    const ep = await h.createEndpoint('/oauth', {
      retry: ONCE,
      auth: {
        type: 'oauth2_client_credentials',
        token_url: h.receiver.url('/oauth/token'),
        client_id: 'client one',
        client_secret: 's3cret&=',
        scope: 'webhooks:write',
      },
    });
    assert.deepEqual(ep.auth, {
      type: 'oauth2_client_credentials',
      token_url: h.receiver.url('/oauth/token'),
      scope: 'webhooks:write',
    });
    for (let i = 0; i < 2; i++) {
      const d = await h.publishTo('/oauth');
      assert.equal((await h.waitForStatus(d.id, 'final')).status, 'succeeded');
    }
    const sent = h.receiver.on('/oauth');
    assert.deepEqual(
      sent.map((r) => r.headers.authorization),
      ['Bearer tok-1', 'Bearer tok-1'],
    );
    assert.equal(tokenRequests().length, 1, 'the token is cached');
    const [fetch] = tokenRequests();
    assert.equal(fetch.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(fetch.headers.authorization, basic('client%20one', 's3cret%26%3D'));
    assert.deepEqual(Object.fromEntries(new URLSearchParams(fetch.body)), {
      grant_type: 'client_credentials',
      scope: 'webhooks:write',
    });

    // The receiver no longer takes tok-1: one new token, the request made again within the same attempt.
    h.receiver.script('/oauth', (req, res) => {
      res.writeHead(req.headers.authorization === 'Bearer tok-1' ? 401 : 200);
      res.end();
    });
    const d = await h.publishTo('/oauth');
    const view = await h.waitForStatus(d.id, 'final');
    assert.equal(view.status, 'succeeded');
    assert.equal(view.attempts, 1);
    assert.deepEqual(
      h.receiver
        .on('/oauth')
        .slice(2)
        .map((r) => r.headers.authorization),
      ['Bearer tok-1', 'Bearer tok-2'],
    );
    assert.equal(tokenRequests().length, 2);
  });

  it('fails the attempt, retried, when the token endpoint refuses, saying why without credentials', async () => {
    tokenEndpoint('/bad/token', () => [400, { error: 'invalid_client' }]);
    await h.createEndpoint('/bad', {
      retry: { max_attempts: 2, initial_interval_ms: 100, backoff_coefficient: 1, max_interval_ms: 100 },
      auth: {
        type: 'oauth2_client_credentials',
        token_url: h.receiver.url('/bad/token'),
        client_id: 'c',
        client_secret: 'never-shown',
      },
    });
    const d = await h.publishTo('/bad');
    const view = await h.waitForStatus(d.id, 'final');
    assert.equal(view.status, 'failed');
    assert.equal(view.attempts, 2, 'retried');
    assert.equal(view.last_error, 'the OAuth2 token request failed: the token endpoint answered HTTP 400');
    assert.equal(h.receiver.on('/bad').length, 0, 'no request without a token');
    const attempts = await h.api('GET', `/v1/deliveries/${d.id}/attempts`);
    assert.ok(!JSON.stringify(attempts.body).includes('never-shown'));
  });

  it('refuses credentials of the wrong shape (422) and changes nothing', async () => {
    const ep = await h.createEndpoint('/shapes', { auth: { type: 'bearer', token: 'kept' } });
    const wrong = [
      { type: 'basic', username: 'u' },
      { type: 'basic', username: 'a:b', password: 'p' },
      { type: 'bearer', token: '' },
      { type: 'bearer', token: 'line\nbreak' },
      { type: 'header', name: 'webhook-signature', value: 'x' },
      { type: 'header', name: 'bad name', value: 'x' },
      { type: 'oauth2_client_credentials', token_url: 'ftp://x/token', client_id: 'c', client_secret: 's' },
      { type: 'oauth2_client_credentials', token_url: 'https://x/token', client_id: 'c' },
      { type: 'magic', token: 'x' },
      { type: 'bearer', token: 'x', extra: true },
      'bearer x',
    ];
    for (const auth of wrong) {
      const created = await h.api('POST', '/v1/endpoints', { url: h.receiver.url('/shapes'), auth });
      assert.equal(created.status, 422, JSON.stringify(auth));
      assert.equal(created.body.detail[0].loc[1], 'auth', JSON.stringify(created.body));
      const patched = await h.api('PATCH', `/v1/endpoints/${ep.id}`, { auth });
      assert.equal(patched.status, 422, JSON.stringify(auth));
    }
    h.receiver.script('/shapes', status(200));
    await h.publishTo('/shapes');
    const [req] = await h.receiver.waitFor('/shapes', 1);
    assert.equal(req.headers.authorization, 'Bearer kept');
  });
});

// Production connections: API and worker processes reach Temporal through a TLS-terminating proxy (HTTP/2 by
// ALPN, client certificates required) with the variables Temporal's own tools read; a wrong CA or a missing
// client certificate stops start-up at once with a clear message. MongoDB settings a production store needs
// are checked at start-up, with a warning for each that is missing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/embedded';
import { useStack } from '../helpers/harness';
import { eventually } from '../helpers/stack';
import { ApiKeyProxy, pemFiles, TestCA, TlsProxy } from '../helpers/tls';
import { type HookflowProcess, runHookflow, spawnHookflow } from '../helpers/worker-process';

describe('production connections', () => {
  const h = useStack({ project: 'connections', worker: false });
  const ca = new TestCA();
  const client = ca.client();
  const files = pemFiles({
    ca: ca.cert,
    cert: client.cert,
    key: client.key,
    otherCa: new TestCA('another CA').cert,
  });
  let proxy: TlsProxy;
  let tlsAddress = '';
  const running: HookflowProcess[] = [];
  before(async () => {
    const [host, port] = h.stack.temporalAddress.split(':');
    proxy = new TlsProxy(ca, { host, port: Number(port) });
    tlsAddress = `127.0.0.1:${await proxy.start()}`;
  });
  after(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await proxy?.stop();
  });
  const tlsEnv = () => ({
    TEMPORAL_ADDRESS: tlsAddress,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.ca,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_TLS_CLIENT_CERT_PATH: files.cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: files.key,
    LOG_LEVEL: 'warn',
  });

  it('delivers with the API and a worker connected to Temporal over mutual TLS', async () => {
    const adminKey = `admin_${randomBytes(16).toString('hex')}`;
    const port = await freePort();
    const [api, worker] = await Promise.all([
      spawnHookflow(h.stack, 'api', {
        ...tlsEnv(),
        HOOKFLOW_ADMIN_KEY: adminKey,
        HOOKFLOW_PORT: String(port),
      }),
      spawnHookflow(h.stack, 'worker', tlsEnv()),
    ]);
    running.push(api, worker);
    const call = async (path: string, key: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      // biome-ignore lint/suspicious/noExplicitAny: free-form JSON answers.
      return { status: res.status, body: (await res.json()) as any };
    };
    const project = await call('/v1/projects', adminKey, { name: 'tls' });
    const key = project.body.api_key.key;
    await call('/v1/endpoints', key, { url: h.receiver.url('/tls'), event_types: ['tls.test'] });
    const event = await call('/v1/events', key, { event_type: 'tls.test', payload: { over: 'tls' } });
    assert.equal(event.status, 202, JSON.stringify(event.body));
    const [req] = await h.receiver.waitFor('/tls', 1);
    assert.equal(req.body, '{"over":"tls"}');
    await eventually(
      () => call(`/v1/deliveries/${event.body.deliveries[0].id}`, key),
      (r) => r.body.status === 'succeeded',
    );
    assert.deepEqual(proxy.refused, []);
    await Promise.all([api.kill('SIGTERM'), worker.kill('SIGTERM')]);
  });

  it('stops start-up at once, saying why, with a wrong CA or without a client certificate', async () => {
    const started = Date.now();
    const wrongCa = await runHookflow(
      h.stack,
      'worker',
      { ...tlsEnv(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.otherCa },
      30_000,
    );
    assert.equal(wrongCa.code, 1, wrongCa.output);
    assert.match(
      wrongCa.output,
      /could not connect to Temporal at 127\.0\.0\.1:\d+ over TLS: .*TEMPORAL_TLS_SERVER_CA_CERT_PATH/s,
    );

    const noClientCert = await runHookflow(
      h.stack,
      'api',
      { ...tlsEnv(), TEMPORAL_TLS_CLIENT_CERT_PATH: undefined, TEMPORAL_TLS_CLIENT_KEY_PATH: undefined },
      30_000,
    );
    assert.equal(noClientCert.code, 1, noClientCert.output);
    assert.match(noClientCert.output, /could not connect to Temporal at 127\.0\.0\.1:\d+ over TLS/);
    assert.ok(proxy.refused.length > 0, 'the proxy refused the handshake without a client certificate');
    // Not the minute of retries a server that is still starting gets.
    assert.ok(Date.now() - started < 45_000, `took ${Date.now() - started} ms`);
  });

  it('authenticates with TEMPORAL_API_KEY, and a refused key stops start-up at once', async () => {
    const keyed = new ApiKeyProxy(ca, h.stack.temporalAddress, 'right-key');
    const address = `127.0.0.1:${await keyed.start()}`;
    try {
      const env = {
        TEMPORAL_ADDRESS: address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.ca,
        TEMPORAL_TLS_SERVER_NAME: 'localhost',
        LOG_LEVEL: 'warn',
      };
      const api = await spawnHookflow(h.stack, 'api', { ...env, TEMPORAL_API_KEY: 'right-key' });
      running.push(api);
      await api.kill('SIGTERM');
      assert.deepEqual([...keyed.seen], ['Bearer right-key']);

      const refused = await runHookflow(h.stack, 'worker', { ...env, TEMPORAL_API_KEY: 'wrong-key' }, 30_000);
      assert.equal(refused.code, 1, refused.output);
      assert.match(
        refused.output,
        /could not connect to Temporal at 127\.0\.0\.1:\d+ over TLS: .*invalid API key/s,
      );
      assert.ok(!refused.output.includes('wrong-key'), 'the key is not printed');
    } finally {
      await keyed.stop();
    }
  });

  it('warns at start-up of the MongoDB settings production needs that are missing', async () => {
    const worker = await spawnHookflow(h.stack, 'worker', {
      MONGODB_URI: `${h.stack.mongoUri}?retryWrites=false&w=1`,
      LOG_LEVEL: 'warn',
    });
    running.push(worker);
    await worker.kill('SIGTERM');
    const warnings = worker
      .output()
      .split('\n')
      .filter((line) => line.includes('"check":"mongodb"'))
      .map((line) => JSON.parse(line).msg);
    assert.equal(warnings.length, 3, worker.output());
    assert.match(warnings[0], /MongoDB is not a replica set/);
    assert.match(warnings[1], /retryWrites=false/);
    assert.match(warnings[2], /w=1/);
  });
});

// HOOKFLOW_EGRESS_PROXY: a worker process sends every webhook (and token request) through an HTTP CONNECT proxy
// written here on loopback, which records what passed; the SSRF guard still refuses private targets first.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/embedded';
import { useStack } from '../helpers/harness';
import { runHookflow, spawnWorker, type WorkerProcess } from '../helpers/worker-process';

/** A CONNECT proxy: tunnels to the asked host:port, recording each tunnel and the bytes it carried. */
class ConnectProxy {
  readonly tunnels: { target: string; headers: IncomingHttpHeaders; bytes: number }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((_req, res) => {
    res.writeHead(405);
    res.end('CONNECT only');
  }).on('connect', (req, client: Socket, head) => {
    const tunnel = { target: req.url ?? '', headers: req.headers, bytes: 0 };
    this.tunnels.push(tunnel);
    const [host, port] = tunnel.target.split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      client.on('data', (d) => (tunnel.bytes += d.length)).pipe(upstream);
      upstream.pipe(client);
    });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => {}).on('close', () => this.sockets.delete(s));
    }
    upstream.on('error', () => client.destroy());
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const TWICE = { max_attempts: 2, initial_interval_ms: 100, backoff_coefficient: 1, max_interval_ms: 100 };

describe('egress proxy', () => {
  const h = useStack({ project: 'egress', worker: false });
  const proxy = new ConnectProxy();
  let worker: WorkerProcess | undefined;
  before(() => proxy.start());
  after(async () => {
    await worker?.kill('SIGKILL');
    await proxy.stop();
  });
  const useWorker = async (env: Record<string, string>) => {
    await worker?.kill('SIGTERM');
    worker = await spawnWorker(h.stack, { HOOKFLOW_SHUTDOWN_GRACE_MS: '0', ...env });
  };

  it('sends webhooks and OAuth2 token requests through the proxy, with its credentials', async () => {
    await useWorker({ HOOKFLOW_EGRESS_PROXY: `http://hf:proxy-pw@127.0.0.1:${proxy.port}` });
    const receiverHost = new URL(h.receiver.url('/')).host;
    h.receiver.script('/proxied/token', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'via-proxy', expires_in: 60 }));
    });
    await h.createEndpoint('/proxied', {
      auth: {
        type: 'oauth2_client_credentials',
        token_url: h.receiver.url('/proxied/token'),
        client_id: 'c',
        client_secret: 's',
      },
    });
    const d = await h.publishTo('/proxied');
    assert.equal((await h.waitForStatus(d.id, 'final')).status, 'succeeded');
    const [req] = h.receiver.on('/proxied');
    assert.equal(req.headers.authorization, 'Bearer via-proxy');
    assert.ok(proxy.tunnels.length > 0);
    for (const tunnel of proxy.tunnels) {
      assert.equal(tunnel.target, receiverHost);
      assert.equal(
        tunnel.headers['proxy-authorization'],
        `Basic ${Buffer.from('hf:proxy-pw').toString('base64')}`,
      );
    }
    const carried = proxy.tunnels.reduce((sum, t) => sum + t.bytes, 0);
    const sent = h.receiver.requests.reduce((sum, r) => sum + r.body.length, 0);
    assert.ok(carried > sent, `the proxy carried ${carried} bytes, the bodies alone are ${sent}`);
  });

  it('fails an attempt as a network error, retried, when the proxy is unreachable; the log names no credential', async () => {
    const closed = await freePort();
    await useWorker({
      HOOKFLOW_EGRESS_PROXY: `http://hf:secret-proxy-pw@127.0.0.1:${closed}`,
      LOG_LEVEL: 'debug',
    });
    await h.createEndpoint('/unreachable', { retry: TWICE });
    const d = await h.publishTo('/unreachable');
    const view = await h.waitForStatus(d.id, 'final');
    assert.equal(view.status, 'failed');
    assert.equal(view.attempts, 2);
    assert.match(view.last_error, /^network error: .*ECONNREFUSED/);
    assert.equal(h.receiver.on('/unreachable').length, 0);
    assert.ok(!worker?.output().includes('secret-proxy-pw'));
    assert.ok(!JSON.stringify(view).includes('secret-proxy-pw'));
  });

  it('keeps the SSRF guard: private targets are refused before the proxy sees them', async () => {
    await useWorker({
      HOOKFLOW_EGRESS_PROXY: `http://127.0.0.1:${proxy.port}`,
      HOOKFLOW_ALLOW_PRIVATE_TARGETS: 'false',
    });
    const before = proxy.tunnels.length;
    // Saved by this file's API, which lets private targets through; the worker's guard is on.
    for (const [path, url] of [
      ['/by-address', h.receiver.url('/by-address')],
      ['/by-name', h.receiver.url('/by-name').replace('127.0.0.1', 'localhost')],
    ]) {
      await h.createEndpoint(path, { url, retry: TWICE });
      const d = await h.publishTo(path);
      const view = await h.waitForStatus(d.id, 'final');
      assert.equal(view.status, 'failed');
      assert.equal(view.attempts, 1, 'a blocked target is not retried');
      assert.match(view.last_error, /^blocked by the SSRF guard: /);
    }
    assert.equal(proxy.tunnels.length, before, 'nothing reached the proxy');
    assert.equal(h.receiver.on('/by-address').length + h.receiver.on('/by-name').length, 0);

    const malformed = await runHookflow(h.stack, 'worker', {
      HOOKFLOW_EGRESS_PROXY: 'socks://u:pw@127.0.0.1:1',
    });
    assert.equal(malformed.code, 1);
    assert.match(malformed.output, /HOOKFLOW_EGRESS_PROXY: must be an http:\/\/ or https:\/\/ proxy URL/);
    assert.ok(!malformed.output.includes(':pw@'));
  });
});

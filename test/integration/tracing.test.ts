// OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, a publish to two endpoints is one trace, from the API
// request through each workflow start, workflow and attempt to the webhook request, exported over OTLP/HTTP to
// a collector written here; ids as attributes, never the payload.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/embedded';
import { useStack } from '../helpers/harness';
import { eventually } from '../helpers/stack';
import { type HookflowProcess, spawnHookflow } from '../helpers/worker-process';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  service: string;
}

/** An OTLP/HTTP (JSON) trace collector: keeps every span it is sent. */
class Collector {
  readonly spans: Span[] = [];
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') this.take(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });

  private take(body: {
    resourceSpans: {
      resource: { attributes: Attr[] };
      scopeSpans: { spans: (Omit<Span, 'attributes' | 'service'> & { attributes: Attr[] })[] }[];
    }[];
  }) {
    for (const rs of body.resourceSpans) {
      const service = String(values(rs.resource.attributes)['service.name']);
      for (const ss of rs.scopeSpans)
        for (const span of ss.spans)
          this.spans.push({ ...span, attributes: values(span.attributes), service });
    }
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

type Attr = { key: string; value: Record<string, unknown> };
const values = (attrs: Attr[] = []) =>
  Object.fromEntries(attrs.map(({ key, value }) => [key, Object.values(value)[0]]));

describe('traces', () => {
  const h = useStack({ project: 'tracing', worker: false });
  const collector = new Collector();
  let hookflow: HookflowProcess | undefined;
  let base = '';
  const admin = `admin_${randomBytes(16).toString('hex')}`;
  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    hookflow = await spawnHookflow(h.stack, 'all', {
      HOOKFLOW_PORT: String(port),
      HOOKFLOW_ADMIN_KEY: admin,
      OTEL_EXPORTER_OTLP_ENDPOINT: await collector.start(),
      OTEL_SERVICE_NAME: 'hookflow-test',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'warn',
    });
  });
  after(async () => {
    await hookflow?.kill('SIGKILL');
    await collector.stop();
  });

  it('follows a publish to two endpoints in one trace, with ids and no payload', async () => {
    const post = async (path: string, key: string, body: unknown, headers: Record<string, string> = {}) =>
      // biome-ignore lint/suspicious/noExplicitAny: free-form JSON answers.
      (await fetch(base + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then((r) => r.json())) as any;
    const key = (await post('/v1/projects', admin, { name: 'traced' })).api_key.key;
    const endpoints: string[] = [];
    // The first forwards the trace context to its receiver.
    for (const path of ['/traced-a', '/traced-b'])
      endpoints.push(
        (
          await post('/v1/endpoints', key, {
            url: h.receiver.url(path),
            event_types: ['traced'],
            forward_trace_context: path === '/traced-a',
          })
        ).id,
      );
    // The caller's own trace is continued.
    const callerTrace = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const event = await post(
      '/v1/events',
      key,
      { event_type: 'traced', payload: { card: 'payload-never-in-a-span' } },
      { traceparent: `00-${callerTrace}-${callerSpan}-01` },
    );
    const [[toA], [toB]] = await Promise.all(['/traced-a', '/traced-b'].map((p) => h.receiver.waitFor(p, 1)));

    const inTrace = () => collector.spans.filter((s) => s.traceId === callerTrace);
    const spans = await eventually(
      async () => inTrace(),
      (s) =>
        s.filter((x) => x.name === 'POST webhook').length === 2 &&
        s.some((x) => x.name === 'POST /v1/events'),
      20_000,
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const request = spans.find((s) => s.name === 'POST /v1/events') as Span;
    assert.equal(request.parentSpanId, callerSpan);
    assert.equal(request.attributes['hookflow.event_id'], event.id);
    assert.equal(request.service, 'hookflow-test');

    // Each webhook request's ancestry: attempt, workflow, workflow start, the API request.
    const webhooks = spans.filter((s) => s.name === 'POST webhook');
    assert.deepEqual(webhooks.map((s) => s.attributes['hookflow.endpoint_id']).sort(), [...endpoints].sort());
    for (const webhook of webhooks) {
      const chain: string[] = [];
      for (let s: Span | undefined = webhook; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined)
        chain.push(s.name);
      assert.equal(chain.at(-1), 'POST /v1/events', chain.join(' < '));
      for (const name of [
        'RunActivity:sendWebhook',
        'RunWorkflow:deliveryWorkflow',
        'StartWorkflow:deliveryWorkflow',
        'start delivery',
      ])
        assert.ok(chain.includes(name), `${name} in ${chain.join(' < ')}`);
      assert.equal(webhook.attributes['hookflow.event_id'], event.id);
      assert.equal(webhook.attributes['http.response.status_code'], 200);
      assert.equal(webhook.attributes['server.address'], '127.0.0.1');
    }
    // The receiver that asked continues the trace from its request's span; the other gets no trace context.
    const toAsSpan = webhooks.find((s) => s.attributes['hookflow.endpoint_id'] === endpoints[0]) as Span;
    assert.equal(toA.headers.traceparent, `00-${callerTrace}-${toAsSpan.spanId}-01`);
    assert.equal(toB.headers.traceparent, undefined);
    const activities = spans.filter((s) => s.name === 'RunActivity:sendWebhook');
    assert.ok(activities.every((s) => typeof s.attributes['hookflow.delivery_id'] === 'string'));
    assert.ok(!JSON.stringify(collector.spans).includes('payload-never-in-a-span'));
  });
});

// The service around the API: the OpenAPI document (valid, complete, and what the API really answers), the
// /docs page in headless Chromium, Prometheus metrics that move with deliveries, and readiness.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020';
import type Koa from 'koa';
import { chromium } from 'playwright-core';
import { openApiPath } from '../../src/http/openapi';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';
import { type ApiResponse, eventually } from '../helpers/stack';

const CHROMIUM = '/usr/bin/chromium';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is free-form JSON here.
type Spec = any;

/** Every method + path the Koa app routes, in OpenAPI form. */
function registeredRoutes(app: Koa): Set<string> {
  const routes = new Set<string>();
  for (const middleware of app.middleware) {
    const router = (middleware as { router?: { stack: { methods: string[]; path: string }[] } }).router;
    for (const layer of router?.stack ?? []) {
      for (const method of layer.methods) {
        if (method !== 'HEAD') routes.add(`${method} ${openApiPath(layer.path)}`);
      }
    }
  }
  return routes;
}

function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)/.exec(line);
    if (match) values.set(match[1], Number(match[2]));
  }
  return values;
}

describe('service', () => {
  const h = useStack({ project: 'service' });
  let spec: Spec;
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const checked = new Set<string>();

  before(async () => {
    spec = (await h.api('GET', '/openapi.json', undefined, null)).body;
    ajv.addSchema(spec, 'spec');
  });

  /** Calls the API and checks the answer against what the document says this route answers. */
  const call = async (
    method: string,
    template: string,
    params: Record<string, string>,
    opts: { key?: string; body?: unknown } = {},
  ): Promise<ApiResponse> => {
    const path = template.replace(/\{(\w+)\}/g, (_, name) => params[name]);
    const res = await h.stack.request(method, path, opts);
    const operation = spec.paths[template]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${template} is not in the document`);
    const answer = operation.responses[String(res.status)];
    assert.ok(answer, `${method} ${path} answered ${res.status}, which the document does not list`);
    const media = answer.content?.['application/json'];
    if (media) {
      const pointer = `spec#/paths/${template.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}/responses/${res.status}/content/application~1json/schema`;
      const valid = ajv.validate({ $ref: pointer }, res.body);
      assert.ok(valid, `${method} ${path} ${res.status}: ${ajv.errorsText()} in ${JSON.stringify(res.body)}`);
    } else {
      assert.ok(res.body === null || res.body === '', `${method} ${path}: documented without a body`);
    }
    checked.add(`${method} ${template}`);
    return res;
  };

  it('serves a valid OpenAPI 3.1 document', async () => {
    assert.equal(spec.openapi, '3.1.0');
    const result = await new Validator().validate(spec);
    assert.deepEqual(result, { valid: true });
  });

  it('documents every registered route, and nothing that is not routed', () => {
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(spec.paths as Record<string, object>)) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    const app = h.stack.app;
    const routed = registeredRoutes(app);
    // /docs/{asset} and /portal/assets/{asset} serve the pages' own files: not part of the API.
    routed.delete('GET /docs/{asset}');
    routed.delete('GET /portal/assets/{asset}');
    assert.deepEqual([...routed].filter((r) => !documented.has(r)).sort(), [], 'routed but undocumented');
    assert.deepEqual([...documented].filter((r) => !routed.has(r)).sort(), [], 'documented but not routed');
  });

  it('answers every route with what the document says', async () => {
    const admin = h.stack.adminKey;
    const project = await call('POST', '/v1/projects', {}, { key: admin, body: { name: 'spec' } });
    const key = project.body.api_key.key as string;
    await call('POST', '/v1/projects', {}, { body: { name: 'x' } }); // 401
    await call('POST', '/v1/projects', {}, { key, body: { name: 'x' } }); // 403
    await call('POST', '/v1/projects', {}, { key: admin, body: { name: '' } }); // 422

    const apiKey = await call('POST', '/v1/api-keys', {}, { key, body: { name: 'second' } });
    await call('GET', '/v1/api-keys', {}, { key });
    await call('DELETE', '/v1/api-keys/{id}', { id: apiKey.body.id }, { key });
    await call('DELETE', '/v1/api-keys/{id}', { id: 'key_00000000000000000000' }, { key }); // 404

    const consumer = await call('POST', '/v1/consumers', {}, { key, body: { name: 'Acme', uid: 'acme' } });
    await call('POST', '/v1/consumers', {}, { key, body: { name: 'Acme', uid: 'acme' } }); // 409
    await call('GET', '/v1/consumers', {}, { key });
    await call('GET', '/v1/consumers/{id}', { id: 'acme' }, { key });
    await call('GET', '/v1/consumers/{id}', { id: 'nobody' }, { key }); // 404
    await call('PATCH', '/v1/consumers/{id}', { id: consumer.body.id }, { key, body: { name: 'Acme Inc' } });
    const session = await call(
      'POST',
      '/v1/consumers/{id}/portal-sessions',
      { id: 'acme' },
      { key, body: {} },
    );
    await call('GET', '/v1/portal-session', {}, { key: session.body.token });
    await call('GET', '/v1/portal-session', {}, { key }); // 403: an API key has no session
    await call('DELETE', '/v1/consumers/{id}/portal-sessions', { id: 'acme' }, { key });

    const url = h.receiver.script('/spec', status(200, 'ok'));
    const endpoint = await call(
      'POST',
      '/v1/endpoints',
      {},
      { key, body: { url, event_types: ['spec.created'], consumer_id: 'acme' } },
    );
    const ep = endpoint.body.id as string;
    await call('POST', '/v1/endpoints', {}, { key, body: { url: 'ftp://x' } }); // 422
    await call('GET', '/v1/endpoints', {}, { key });
    await call('GET', '/v1/endpoints/{id}', { id: ep }, { key });
    await call('PATCH', '/v1/endpoints/{id}', { id: ep }, { key, body: { description: 'spec' } });
    await call('POST', '/v1/endpoints/{id}/secret/rotate', { id: ep }, { key, body: {} });
    await call('POST', '/v1/endpoints/{id}/test', { id: ep }, { key, body: {} });
    await call('GET', '/v1/endpoints/{id}/stats', { id: ep }, { key });
    await call('POST', '/v1/endpoints/{id}/filter/test', { id: ep }, { key, body: { payload: { n: 1 } } });
    await call('POST', '/v1/endpoints/{id}/filter/test', { id: ep }, { key, body: {} }); // 422
    await call('GET', '/v1/endpoints/{id}/stats', { id: ep }, { key: `${key}x` }); // 401
    await call('GET', '/v1/stats', {}, { key });
    await call('GET', '/v1/project', {}, { key });
    await call('PATCH', '/v1/project', {}, { key, body: { strict_event_types: false } });
    await call('PATCH', '/v1/project', {}, { key, body: {} }); // 422
    const typeBody = {
      name: 'spec.typed',
      schema: { type: 'object', required: ['n'] },
      examples: [{ n: 1 }],
    };
    await call('POST', '/v1/event-types', {}, { key, body: typeBody });
    await call('POST', '/v1/event-types', {}, { key, body: typeBody }); // 409
    await call('GET', '/v1/event-types', {}, { key });
    await call('GET', '/v1/event-types/{name}', { name: 'spec.typed' }, { key });
    await call(
      'PATCH',
      '/v1/event-types/{name}',
      { name: 'spec.typed' },
      { key, body: { description: 'd' } },
    );
    await call('POST', '/v1/events', {}, { key, body: { event_type: 'spec.typed', payload: {} } }); // 422
    await call('DELETE', '/v1/event-types/{name}', { name: 'spec.typed' }, { key });
    await call('GET', '/v1/event-types/{name}', { name: 'spec.typed' }, { key }); // 404
    await call('GET', '/v1/stats', {}, { key: 'nope' }); // 401
    const ops = await call(
      'POST',
      '/v1/operational-endpoints',
      {},
      { key, body: { url, event_types: ['delivery.exhausted'] } },
    );
    const oep = ops.body.id as string;
    await call('GET', '/v1/operational-endpoints', {}, { key });
    await call('GET', '/v1/operational-endpoints/{id}', { id: oep }, { key });
    await call(
      'PATCH',
      '/v1/operational-endpoints/{id}',
      { id: oep },
      { key, body: { description: 'spec' } },
    );
    await call('POST', '/v1/operational-endpoints/{id}/secret/rotate', { id: oep }, { key, body: {} });
    await call('DELETE', '/v1/operational-endpoints/{id}', { id: oep }, { key });

    const body = { event_type: 'spec.created', payload: { n: 1 }, idempotency_key: 'spec-1' };
    const event = await call('POST', '/v1/events', {}, { key, body });
    assert.equal(event.status, 202);
    assert.equal((await call('POST', '/v1/events', {}, { key, body })).status, 200);
    const evt = event.body.id as string;
    const dlv = event.body.deliveries[0].id as string;
    await call('GET', '/v1/events', {}, { key });
    await call('GET', '/v1/events/{id}', { id: evt }, { key });
    await eventually(
      () => h.stack.request('GET', `/v1/deliveries/${dlv}`, { key }),
      (r) => r.body.status === 'succeeded',
    );
    await call('POST', '/v1/events/{id}/replay', { id: evt }, { key });
    await call('GET', '/v1/deliveries', {}, { key });
    await call('GET', '/v1/deliveries/{id}', { id: dlv }, { key });
    await call('GET', '/v1/deliveries/{id}/attempts', { id: dlv }, { key });
    await call('POST', '/v1/deliveries/{id}/cancel', { id: dlv }, { key }); // 409: already final
    await call('POST', '/v1/deliveries/{id}/retry', { id: dlv }, { key }); // 409
    await call('POST', '/v1/deliveries/{id}/replay', { id: dlv }, { key });
    await call(
      'POST',
      '/v1/endpoints/{endpoint_id}/events/{event_id}/resend',
      { endpoint_id: ep, event_id: evt },
      { key },
    );

    const bulk = await call(
      'POST',
      '/v1/deliveries/replay',
      {},
      { key, body: { filter: { endpoint_id: ep } } },
    );
    await call(
      'POST',
      '/v1/endpoints/{id}/recover',
      { id: ep },
      { key, body: { since: new Date(0).toISOString() } },
    );
    await call('GET', '/v1/operations', {}, { key });
    await call('GET', '/v1/operations/{id}', { id: bulk.body.id }, { key });
    await call('POST', '/v1/operations/{id}/cancel', { id: bulk.body.id }, { key }); // 202, or 409 once done
    await call('DELETE', '/v1/events/{id}/payload', { id: evt }, { key });
    await call('DELETE', '/v1/events/{id}/payload', { id: 'evt_00000000000000000000' }, { key }); // 404
    await call('POST', '/v1/events/{id}/replay', { id: evt }, { key }); // 409: nothing to send
    await call('DELETE', '/v1/endpoints/{id}', { id: ep }, { key });
    await call('GET', '/v1/endpoints/{id}', { id: ep }, { key }); // 404
    await call('DELETE', '/v1/consumers/{id}', { id: 'acme' }, { key });

    await call('GET', '/healthz', {});
    await call('GET', '/readyz', {});
    await call('GET', '/openapi.json', {});
    const undocumented = Object.entries(spec.paths as Record<string, object>)
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
      .filter((r) => !checked.has(r) && !['GET /metrics', 'GET /docs', 'GET /portal'].includes(r));
    assert.deepEqual(undocumented, [], 'routes this walk did not call');
  });

  it('counts deliveries, attempts and publishes in /metrics, with the SDK metrics alongside', async () => {
    const scrape = async () => {
      const res = await fetch(`${h.stack.baseUrl}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return parseMetrics(await res.text());
    };
    const { key } = await h.stack.newProject('metrics');
    const ok = h.receiver.script('/metrics-ok', status(204));
    const broken = h.receiver.script('/metrics-broken', status(500, 'no'));
    const retry = { max_attempts: 1 };
    for (const [url, type] of [
      [ok, 'm.ok'],
      [broken, 'm.broken'],
    ]) {
      const res = await h.stack.request('POST', '/v1/endpoints', {
        key,
        body: { url, event_types: [type], retry },
      });
      assert.equal(res.status, 201);
    }
    const before = await scrape();
    const get = (m: Map<string, number>, name: string) => m.get(name) ?? 0;
    for (let i = 0; i < 3; i++) {
      for (const type of ['m.ok', 'm.broken']) {
        const res = await h.stack.request('POST', '/v1/events', {
          key,
          body: { event_type: type, payload: { i } },
        });
        assert.equal(res.status, 202);
      }
    }
    const delta = (m: Map<string, number>, name: string) => get(m, name) - get(before, name);
    const after = await eventually(
      scrape,
      (m) =>
        delta(m, 'hookflow_deliveries_total{status="succeeded",trigger="initial"}') >= 3 &&
        delta(m, 'hookflow_deliveries_total{status="failed",trigger="initial"}') >= 3,
    );
    assert.equal(delta(after, 'hookflow_events_published_total{result="accepted"}'), 6);
    assert.equal(delta(after, 'hookflow_deliveries_total{status="pending",trigger="initial"}'), 6);
    // The API and the worker share this process and its Temporal connection: every start is eager.
    assert.equal(delta(after, 'hookflow_delivery_workflow_starts_total{eager="true"}'), 6);
    assert.equal(delta(after, 'hookflow_delivery_workflow_starts_total{eager="false"}'), 0);
    assert.equal(delta(after, 'hookflow_delivery_attempts_total{outcome="2xx"}'), 3);
    assert.equal(delta(after, 'hookflow_delivery_attempts_total{outcome="5xx"}'), 3);
    assert.equal(delta(after, 'hookflow_delivery_attempt_duration_seconds_count{outcome="5xx"}'), 3);
    assert.ok(
      delta(
        after,
        'hookflow_http_request_duration_seconds_count{method="POST",route="/v1/events",status="202"}',
      ) >= 6,
    );
    // The Temporal SDK's own metrics, from the worker in this process.
    assert.ok(
      [...after.keys()].some((name) => name.startsWith('temporal_workflow_task_execution_latency')),
      'temporal SDK metrics missing',
    );
    assert.ok(
      [...after.keys()].every((name) => !/ep_[0-9a-z]{20}|evt_|dlv_/.test(name)),
      'ids in labels',
    );
  });

  it('renders the reference at /docs in headless Chromium, from this server only', async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: apt-get install chromium (npm test's setup does)`,
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      const foreign: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(h.stack.baseUrl) && !r.url().startsWith('data:')) foreign.push(r.url());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const res = await page.goto(`${h.stack.baseUrl}/docs`);
      assert.equal(res?.status(), 200);
      await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
      const shown = await page.$$eval('.opblock', (blocks) =>
        blocks.map((b) => {
          const method = b.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '';
          const path = b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '';
          return `${method} ${path}`;
        }),
      );
      const documented = Object.entries(spec.paths as Record<string, object>).flatMap(([path, item]) =>
        Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
      );
      assert.deepEqual(new Set(shown), new Set(documented));
      assert.deepEqual(foreign, [], 'the page fetched from another origin');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it('reports MongoDB unreachable in /readyz, and ready again once it is back', async () => {
    const restart = h.stack.restartFerretDB(8000);
    const down = await eventually(
      () => h.stack.request('GET', '/readyz'),
      (r) => r.status === 503,
      7000,
    );
    assert.deepEqual(down.body, { status: 'not ready', mongodb: false, temporal: true, draining: false });
    await restart;
    await eventually(
      () => h.stack.request('GET', '/readyz'),
      (r) => r.status === 200,
      30_000,
    );
  });
});

// Routes about the service itself, without an API key: liveness, readiness, Prometheus metrics, and (on
// the API) the OpenAPI document and the page that renders it. A worker-only process serves the first three
// on its own port.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import mongoose from 'mongoose';
import { z } from 'zod';
import { metricsText } from '../metrics';
import type { RouteDocs } from './openapi';

/** Set when SIGTERM arrives: readiness fails at once so that load balancers stop sending traffic. */
export interface Lifecycle {
  draining: boolean;
}

const CHECK_TIMEOUT_MS = 2000;
const DOCS_ASSETS = new Map([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
]);

const Readiness = z
  .strictObject({
    status: z.enum(['ready', 'not ready']),
    mongodb: z.boolean(),
    temporal: z.boolean(),
    draining: z.boolean(),
  })
  .meta({ id: 'Readiness' });

const service = { tag: 'Service', auth: 'none' } as const;

export const serviceDocs: RouteDocs = {
  'GET /healthz': {
    ...service,
    summary: 'Liveness',
    responses: {
      200: { description: 'The process runs.', schema: z.strictObject({ status: z.literal('ok') }) },
    },
  },
  'GET /readyz': {
    ...service,
    summary: 'Readiness',
    description: 'Whether MongoDB and Temporal answer within 2 s and the process is not shutting down.',
    responses: {
      200: { description: 'Ready.', schema: Readiness },
      503: {
        description: 'Not ready: a backing service is unreachable, or shutting down.',
        schema: Readiness,
      },
    },
  },
  'GET /metrics': {
    ...service,
    summary: 'Prometheus metrics',
    responses: {
      200: {
        description: 'hookflow_* metrics, and temporal_* ones where a worker runs in the process.',
        schema: z.string(),
        contentType: 'text/plain; version=0.0.4',
      },
    },
  },
  'GET /openapi.json': {
    ...service,
    summary: 'This OpenAPI document',
    responses: { 200: { description: 'OpenAPI 3.1.', schema: z.record(z.string(), z.unknown()) } },
  },
  'GET /docs': {
    ...service,
    summary: 'API reference page',
    responses: {
      200: { description: 'Swagger UI over /openapi.json.', schema: z.string(), contentType: 'text/html' },
    },
  },
};

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref()),
  ]);
}

async function readiness(client: Client, lifecycle: Lifecycle) {
  const [mongodb, temporal] = await Promise.all([
    within(
      mongoose.connection.db?.admin().ping() ?? Promise.reject(new Error('not connected')),
      CHECK_TIMEOUT_MS,
    )
      .then(() => true)
      .catch(() => false),
    within(client.workflowService.getSystemInfo({}), CHECK_TIMEOUT_MS)
      .then(() => true)
      .catch(() => false),
  ]);
  return { mongodb, temporal, draining: lifecycle.draining };
}

export function serviceRoutes(deps: { client: Client; lifecycle: Lifecycle; openApi?: unknown }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks = await readiness(deps.client, deps.lifecycle);
    ctx.status = checks.mongodb && checks.temporal && !checks.draining ? 200 : 503;
    ctx.body = { status: ctx.status === 200 ? 'ready' : 'not ready', ...checks };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = await metricsText();
  });
  if (deps.openApi) {
    const spec = JSON.stringify(deps.openApi);
    router.get('/openapi.json', (ctx) => {
      ctx.type = 'application/json';
      ctx.body = spec;
    });
    router.get('/docs', (ctx) => {
      // Everything the page loads comes from this server: no CDN, no inline script.
      ctx.set(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
      );
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = DOCS_PAGE;
    });
    router.get('/docs/:asset', (ctx) => {
      const asset = ctx.params.asset;
      if (asset === 'init.js') {
        ctx.type = 'text/javascript; charset=utf-8';
        ctx.body = DOCS_INIT;
        return;
      }
      const type = DOCS_ASSETS.get(asset);
      if (!type) return; // 404 through the error middleware
      ctx.type = type;
      ctx.set('cache-control', 'public, max-age=86400');
      ctx.body = readAsset(asset);
    });
  }
  return router;
}

// Swagger UI's static build, served from the npm package (the package's index would load it into Node).
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/swagger-ui-bundle.js'));
const assets = new Map<string, Buffer>();
function readAsset(name: string): Buffer {
  let data = assets.get(name);
  if (!data) {
    data = readFileSync(join(SWAGGER_UI_DIR, name));
    assets.set(name, data);
  }
  return data;
}

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>hookflow API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the spec to validator.swagger.io.
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  validatorUrl: null,
  deepLinking: true,
});
`;

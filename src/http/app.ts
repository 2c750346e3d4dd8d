// The request path: error mapping → JSON body → auth → resource router → domain → Temporal / MongoDB.
import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import mongoose from 'mongoose';
import { apiKeyRoutes } from '../api-keys/routes';
import { deliveryRoutes } from '../deliveries/routes';
import { endpointRoutes } from '../endpoints/routes';
import { eventRoutes } from '../events/routes';
import type { Logger } from '../logger';
import { operationRoutes } from '../operations/routes';
import { projectRoutes } from '../projects/routes';
import { requireProjectKey } from './auth';
import { jsonBody } from './body';
import { errorMiddleware } from './errors';

export interface AppDeps {
  client: Client;
  taskQueue: string;
  adminKey: string;
  maxBodyBytes: number;
  /** Lets endpoints point at loopback and private networks (tests, on-premise receivers). */
  allowPrivateTargets: boolean;
  /** Deliveries per page of a bulk replay (one activity each). */
  bulkPageSize: number;
  logger: Logger;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  // Koa's own error handler would print stack traces; everything goes through errorMiddleware instead.
  app.silent = true;

  const open = new Router();
  open.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  open.get('/readyz', async (ctx) => {
    const checks = await readiness(deps.client);
    ctx.status = checks.mongodb && checks.temporal ? 200 : 503;
    ctx.body = { status: ctx.status === 200 ? 'ready' : 'not ready', ...checks };
  });

  const temporal = { client: deps.client, taskQueue: deps.taskQueue };
  const project = new Router();
  project.use(requireProjectKey(deps.adminKey));
  for (const routes of [
    operationRoutes(temporal, deps.bulkPageSize),
    apiKeyRoutes(),
    endpointRoutes(deps.allowPrivateTargets),
    eventRoutes(temporal),
    deliveryRoutes(temporal),
  ]) {
    project.use(routes.routes());
  }

  app.use(errorMiddleware(deps.logger));
  app.use(jsonBody(deps.maxBodyBytes));
  app.use(open.routes());
  app.use(projectRoutes(deps.adminKey).routes());
  app.use(project.routes());
  app.use(project.allowedMethods());
  return app;
}

async function readiness(client: Client) {
  const [mongodb, temporal] = await Promise.all([
    mongoose.connection.db
      ?.admin()
      .ping()
      .then(() => true)
      .catch(() => false) ?? false,
    client.workflowService
      .getSystemInfo({})
      .then(() => true)
      .catch(() => false),
  ]);
  return { mongodb, temporal };
}

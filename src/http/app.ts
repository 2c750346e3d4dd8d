// The request path: request log → error mapping → JSON body → auth → resource router → domain →
// Temporal / MongoDB.
import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import { ApiKeyVerifier } from '../api-keys/model';
import { apiKeyDocs, apiKeyRoutes } from '../api-keys/routes';
import { consumerDocs, consumerRoutes } from '../consumers/routes';
import { deliveryDocs, deliveryRoutes } from '../deliveries/routes';
import { ENDPOINTS, endpointDocs, endpointRoutes, OPERATIONAL_ENDPOINTS } from '../endpoints/routes';
import { eventTypeDocs, eventTypeRoutes } from '../event-types/routes';
import { eventDocs, eventRoutes } from '../events/routes';
import type { Logger } from '../logger';
import { operationDocs, operationRoutes } from '../operations/routes';
import { portalDocs, portalRoutes } from '../portal/routes';
import { projectDocs, projectRoutes, projectSettingsRoutes } from '../projects/routes';
import { statsDocs, statsRoutes } from '../stats/routes';
import { requireProjectKey } from './auth';
import { jsonBody } from './body';
import { errorMiddleware } from './errors';
import { openApiDocument } from './openapi';
import { requestLog } from './request-log';
import { requestSpan } from './request-span';
import { type Lifecycle, serviceDocs, serviceRoutes } from './service-routes';

/** Every route's description, in the order the reference lists them. */
export const API_DOCS = [
  projectDocs,
  apiKeyDocs,
  consumerDocs,
  endpointDocs(ENDPOINTS),
  endpointDocs(OPERATIONAL_ENDPOINTS),
  statsDocs,
  eventTypeDocs,
  eventDocs,
  deliveryDocs,
  operationDocs,
  portalDocs,
  serviceDocs,
];

export interface AppDeps {
  client: Client;
  taskQueue: string;
  adminKey: string;
  maxBodyBytes: number;
  /** Lets endpoints point at loopback and private networks (tests, on-premise receivers). */
  allowPrivateTargets: boolean;
  /** Deliveries per page of a bulk replay (one activity each). */
  bulkPageSize: number;
  /** How long a key found live is trusted without a lookup; 0 looks up every request. */
  apiKeyCacheMs: number;
  logger: Logger;
  /** Shared with the shutdown sequence; a new one (not draining) when absent. */
  lifecycle?: Lifecycle;
}

export function createApp(deps: AppDeps): Koa {
  const app = baseApp(deps.logger);
  const lifecycle = deps.lifecycle ?? { draining: false };
  const openApi = openApiDocument(API_DOCS, process.env.npm_package_version ?? '0.1.0');

  const temporal = { client: deps.client, taskQueue: deps.taskQueue };
  const apiKeys = new ApiKeyVerifier(deps.apiKeyCacheMs);
  const project = new Router();
  project.use(requireProjectKey(deps.adminKey, apiKeys));
  for (const routes of [
    operationRoutes(temporal, deps.bulkPageSize),
    apiKeyRoutes(apiKeys),
    consumerRoutes(),
    endpointRoutes(temporal, deps.allowPrivateTargets),
    endpointRoutes(temporal, deps.allowPrivateTargets, OPERATIONAL_ENDPOINTS),
    statsRoutes(),
    projectSettingsRoutes(),
    eventTypeRoutes(),
    eventRoutes(temporal),
    deliveryRoutes(temporal),
  ]) {
    project.use(routes.routes());
  }

  app.use(jsonBody(deps.maxBodyBytes));
  app.use(serviceRoutes({ client: deps.client, lifecycle, openApi }).routes());
  app.use(portalRoutes().routes());
  app.use(projectRoutes(deps.adminKey, apiKeys).routes());
  app.use(project.routes());
  app.use(project.allowedMethods());
  return app;
}

/** What a worker-only process serves on HOOKFLOW_WORKER_PORT: liveness, readiness and metrics. */
export function createWorkerServiceApp(deps: { client: Client; logger: Logger; lifecycle: Lifecycle }): Koa {
  const app = baseApp(deps.logger);
  app.use(serviceRoutes({ client: deps.client, lifecycle: deps.lifecycle }).routes());
  return app;
}

function baseApp(logger: Logger): Koa {
  const app = new Koa();
  app.proxy = false;
  // Koa's own error handler would print stack traces; everything goes through errorMiddleware instead.
  app.silent = true;
  app.use(requestLog(logger));
  app.use(requestSpan);
  app.use(errorMiddleware(logger));
  return app;
}

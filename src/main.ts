// Entry point. `npm start` runs everything (embedded servers, worker, API) in one process tree;
// `npm run api` and `npm run worker` run one role each against MONGODB_URI / TEMPORAL_ADDRESS
// (or the embedded servers of a running `npm start`).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import mongoose from 'mongoose';
import { type Config, loadConfig } from './config';
import { connectMongo, storeWarnings } from './db';
import { type ChildServer, startFerretDB, startTemporalDevServer } from './embedded';
import { createApp, createWorkerServiceApp } from './http/app';
import type { Lifecycle } from './http/service-routes';
import { createLogger, type Logger } from './logger';
import { generateKeyEntry, type Keyring, parseKeys, useKeyring } from './secrets/keyring';
import { checkStoredKeys, rotateKeys } from './secrets/stored-keys';
import { connectTemporalClient, temporalConnectionOptions } from './temporal';
import { startTracing, stopTracing } from './tracing';
import { createDeliveryWorker } from './worker';

type Role = 'all' | 'api' | 'worker' | 'rotate-keys';

/** What every role runs on. */
interface Context {
  config: Config;
  logger: Logger;
  client: Client;
  lifecycle: Lifecycle;
}

interface Connections {
  mongoUri: string;
  temporalAddress: string;
  temporalUi: string | null;
  /** Embedded servers this process started, stopped last. */
  children: ChildServer[];
}

/** MONGODB_URI and TEMPORAL_ADDRESS, or the embedded servers: started by `all`, found by the other roles. */
async function connections(
  role: Role,
  config: Config,
  dataDir: string,
  logger: Logger,
): Promise<Connections> {
  const children: ChildServer[] = [];
  let temporalUi = config.TEMPORAL_UI_URL ?? null;
  if (!config.MONGODB_URI && role === 'all') {
    logger.info({ port: config.HOOKFLOW_FERRETDB_PORT }, 'starting embedded FerretDB');
    children.push(
      await startFerretDB({ home: config.HOOKFLOW_HOME, dataDir, port: config.HOOKFLOW_FERRETDB_PORT }),
    );
  }
  if (!config.TEMPORAL_ADDRESS && role === 'all') {
    logger.info({ port: config.HOOKFLOW_TEMPORAL_PORT }, 'starting embedded Temporal dev server');
    children.push(
      await startTemporalDevServer({
        home: config.HOOKFLOW_HOME,
        dataDir,
        port: config.HOOKFLOW_TEMPORAL_PORT,
        uiPort: config.HOOKFLOW_TEMPORAL_UI_PORT,
        onVisibilityTrim: ({ trim, error }) => {
          if (error) logger.warn({ err: error }, 'Temporal visibility indexes left as they ship');
          else logger.info(trim, 'Temporal visibility indexes trimmed');
        },
      }),
    );
    temporalUi ??= `http://127.0.0.1:${config.HOOKFLOW_TEMPORAL_UI_PORT}`;
  }
  return {
    mongoUri: config.MONGODB_URI ?? `mongodb://127.0.0.1:${config.HOOKFLOW_FERRETDB_PORT}/hookflow`,
    temporalAddress: config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.HOOKFLOW_TEMPORAL_PORT}`,
    temporalUi,
    children,
  };
}

/** The admin key from HOOKFLOW_ADMIN_KEY, or one generated once and kept in the data folder. */
function adminKey(config: Config, dataDir: string): string {
  if (config.HOOKFLOW_ADMIN_KEY) return config.HOOKFLOW_ADMIN_KEY;
  const file = join(dataDir, 'admin-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `hf_admin_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/**
 * The encryption keys from HOOKFLOW_ENCRYPTION_KEYS, or those kept in the data folder: `npm start` generates
 * one there the first time, as it does the admin key; the other roles only read it.
 */
function encryptionKeys(role: Role, config: Config, dataDir: string): Keyring {
  if (config.HOOKFLOW_ENCRYPTION_KEYS) return parseKeys(config.HOOKFLOW_ENCRYPTION_KEYS);
  const file = join(dataDir, 'encryption-keys');
  if (existsSync(file)) return parseKeys(readFileSync(file, 'utf8'));
  if (role !== 'all')
    throw new Error(
      `HOOKFLOW_ENCRYPTION_KEYS is not set and ${file} does not exist: set it to the keys the other processes use`,
    );
  writeFileSync(file, `${generateKeyEntry()}\n`, { mode: 0o600 });
  return parseKeys(readFileSync(file, 'utf8'));
}

/** The delivery worker: runs workflows and activities until shut down. */
async function startWorker({ config, logger, client }: Context) {
  const worker = await createDeliveryWorker({
    client,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HOOKFLOW_TASK_QUEUE,
    allowPrivateTargets: config.HOOKFLOW_ALLOW_PRIVATE_TARGETS,
    egressProxy: config.HOOKFLOW_EGRESS_PROXY,
    logger,
    shutdownGraceMs: config.HOOKFLOW_SHUTDOWN_GRACE_MS,
    reconcileIntervalMs: config.HOOKFLOW_RECONCILE_INTERVAL_S * 1000,
  });
  return { ...worker, running: worker.worker.run() };
}

/** The REST API, with health checks, metrics and the reference. */
function startApi({ config, logger, client, lifecycle }: Context, key: string): Promise<Server> {
  const app = createApp({
    client,
    taskQueue: config.HOOKFLOW_TASK_QUEUE,
    adminKey: key,
    maxBodyBytes: config.HOOKFLOW_MAX_BODY_BYTES,
    bulkPageSize: config.HOOKFLOW_BULK_PAGE_SIZE,
    apiKeyCacheMs: config.HOOKFLOW_API_KEY_CACHE_MS,
    allowPrivateTargets: config.HOOKFLOW_ALLOW_PRIVATE_TARGETS,
    logger,
    lifecycle,
  });
  return listen(app.callback(), config.HOOKFLOW_PORT, config.HOOKFLOW_HOST);
}

/** A worker alone still answers health checks and scrapes, on a port of its own. */
function startWorkerHealth({ config, logger, client, lifecycle }: Context): Promise<Server> {
  const app = createWorkerServiceApp({ client, logger, lifecycle });
  return listen(app.callback(), config.HOOKFLOW_WORKER_PORT, config.HOOKFLOW_HOST);
}

function banner(role: Role, config: Config, connected: Connections, key: string): string {
  const lines = ['', 'hookflow is running'];
  const host = config.HOOKFLOW_HOST;
  if (role !== 'worker') {
    const api = `http://${host}:${config.HOOKFLOW_PORT}`;
    lines.push(`  API          ${api}   (reference: ${api}/docs)`);
  } else {
    lines.push(`  Health       http://${host}:${config.HOOKFLOW_WORKER_PORT}/readyz and /metrics`);
  }
  if (connected.temporalUi) lines.push(`  Temporal UI  ${connected.temporalUi}`);
  lines.push(`  Temporal     ${connected.temporalAddress} (namespace ${config.TEMPORAL_NAMESPACE})`);
  lines.push(`  MongoDB      ${connected.mongoUri}`);
  if (role !== 'worker') lines.push(`  Admin key    ${key}`);
  lines.push('  Stop with Ctrl-C', '');
  return `${lines.join('\n')}\n`;
}

async function main() {
  const role = (process.argv[2] ?? 'all') as Role;
  if (!['all', 'api', 'worker', 'rotate-keys'].includes(role))
    throw new Error(`unknown role ${role}: use all, api, worker or rotate-keys`);
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const dataDir = join(config.HOOKFLOW_HOME, 'data');
  mkdirSync(dataDir, { recursive: true });
  startTracing();
  const keyring = encryptionKeys(role, config, dataDir);
  useKeyring(keyring);

  const connected = await connections(role, config, dataDir, logger);
  for (const child of connected.children)
    if (child.replacedOrphan)
      logger.warn(
        { server: child.name, pid: child.replacedOrphan },
        `stopped the embedded ${child.name} an earlier npm start left running (pid ${child.replacedOrphan})`,
      );
  const mongo = await connectMongo(connected.mongoUri);
  if (config.MONGODB_URI && role !== 'rotate-keys')
    for (const warning of await storeWarnings(mongo)) logger.warn({ check: 'mongodb' }, warning);
  if (role === 'rotate-keys') {
    const { endpoints } = await rotateKeys(keyring);
    process.stdout.write(`resealed the secrets of ${endpoints} endpoints with key "${keyring.primaryId}"\n`);
    await mongoose.disconnect();
    return;
  }
  await checkStoredKeys(keyring).catch(async (err) => {
    for (const child of connected.children.reverse()) await child.stop();
    throw err;
  });
  // An external frontend is reached with Temporal's own environment configuration (TLS, API key).
  const temporal = config.TEMPORAL_ADDRESS ? temporalConnectionOptions() : connected.temporalAddress;
  const client = await connectTemporalClient(temporal, config.TEMPORAL_NAMESPACE, logger);
  const context: Context = { config, logger, client, lifecycle: { draining: false } };

  const worker = role !== 'api' ? await startWorker(context) : null;
  const key = adminKey(config, dataDir);
  const server = role !== 'worker' ? await startApi(context, key) : await startWorkerHealth(context);
  process.stdout.write(banner(role, config, connected, key));

  let stopping = false;
  const stop = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A connection to a server that died can hold a close up: the process ends regardless.
    setTimeout(() => process.exit(exitCode), config.HOOKFLOW_SHUTDOWN_GRACE_MS + 15_000).unref();
    // Readiness fails first; then the API stops accepting connections and answers the requests it has;
    // then the worker stops polling and finishes the activities it runs (or hands them back after
    // HOOKFLOW_SHUTDOWN_GRACE_MS); a worker-only process keeps answering /readyz meanwhile.
    context.lifecycle.draining = true;
    const closeServer = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    if (role !== 'worker') await closeServer();
    if (worker) {
      if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
      await worker.running.catch(() => {});
      await worker.close();
    }
    if (role === 'worker') await closeServer();
    await client.connection.close();
    await mongoose.disconnect();
    await stopTracing().catch(() => {});
    for (const child of connected.children.reverse()) await child.stop();
    process.exit(exitCode);
  };
  // An embedded server that exits under us takes the store or Temporal with it: stop rather than serve
  // requests that cannot be kept (a process manager, or the user, starts npm start again).
  for (const child of connected.children)
    child.process.once('exit', (code, signal) => {
      if (stopping) return;
      logger.fatal(
        { server: child.name, code, signal },
        `the embedded ${child.name} exited: stopping hookflow`,
      );
      void stop('embedded-server-exit', 1);
    });
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  worker?.running.catch((err) => {
    logger.fatal({ err }, 'worker stopped');
    void stop('worker-failure', 1);
  });
}

function listen(handler: RequestListener, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

main().catch((err) => {
  process.stderr.write(`hookflow failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

// Starts the real servers a test file needs: the Temporal dev server and FerretDB (on free ports, data in a
// temp folder), a worker on its own task queue and the Koa API on a free port, all in this process.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type Koa from 'koa';
import mongoose from 'mongoose';
import { connectMongo } from '../../src/db';
import { type ChildServer, freePort, startFerretDB, startTemporalDevServer } from '../../src/embedded';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { generateKeyEntry, parseKeys, useKeyring } from '../../src/secrets/keyring';
import { checkStoredKeys } from '../../src/secrets/stored-keys';
import { connectTemporalClient } from '../../src/temporal';
import { createDeliveryWorker } from '../../src/worker';

export const HOOKFLOW_HOME = join(__dirname, '..', '..', '.hookflow');
/** The encryption keys of this test process's stacks and of the hookflow processes they spawn. */
export const TEST_ENCRYPTION_KEYS = generateKeyEntry('test');

/** The embedded Temporal dev server and FerretDB on free ports, their data in `dataDir`. */
export interface EmbeddedServers {
  temporalAddress: string;
  mongoUri: string;
  /** The servers' process ids (Temporal, then FerretDB), as they are now. */
  pids(): number[];
  /** Stops the Temporal dev server (SIGTERM) and starts it again on the same port and database file. */
  restartTemporal(downMs?: number): Promise<void>;
  /** Stops FerretDB and starts it again on the same port and data after `downMs`. */
  restartFerretDB(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startEmbeddedServers(dataDir: string, database = 'hookflow'): Promise<EmbeddedServers> {
  const temporalPort = await freePort();
  let ferretPort = await freePort();
  while (ferretPort === temporalPort) ferretPort = await freePort();
  // Tests run the dev server as npm start does: a visibility index trim that fails is a test failure.
  let trimError: Error | undefined;
  const launchTemporal = async () => {
    const server = await startTemporalDevServer({
      home: HOOKFLOW_HOME,
      dataDir,
      port: temporalPort,
      uiPort: 0,
      headless: true,
      onVisibilityTrim: ({ error }) => {
        trimError = error;
      },
    });
    if (!trimError) return server;
    await server.stop();
    throw trimError;
  };
  const launchFerretDB = () => startFerretDB({ home: HOOKFLOW_HOME, dataDir, port: ferretPort });
  const started = await Promise.allSettled([launchTemporal(), launchFerretDB()]);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw failed.reason;
  }
  // Both servers keep their data in dataDir, so a restart picks up where they stopped.
  let [temporal, ferretdb] = started.map((s) => (s as PromiseFulfilledResult<ChildServer>).value);
  return {
    temporalAddress: `127.0.0.1:${temporalPort}`,
    mongoUri: `mongodb://127.0.0.1:${ferretPort}/${database}`,
    pids: () => [temporal, ferretdb].flatMap((server) => (server.process.pid ? [server.process.pid] : [])),
    async restartTemporal(downMs = 0) {
      await temporal.stop();
      await new Promise((r) => setTimeout(r, downMs));
      temporal = await launchTemporal();
    },
    async restartFerretDB(downMs = 0) {
      await ferretdb.stop();
      await new Promise((r) => setTimeout(r, downMs));
      ferretdb = await launchFerretDB();
    },
    stop: () => Promise.all([temporal.stop(), ferretdb.stop()]).then(() => {}),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read free-form JSON answers and assert on their fields.
type Json = any;

export interface ApiResponse<T = Json> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Stack {
  baseUrl: string;
  /** The Koa app behind baseUrl, for tests that inspect its routes. */
  app: Koa;
  adminKey: string;
  client: Client;
  temporalAddress: string;
  mongoUri: string;
  taskQueue: string;
  dataDir: string;
  /** HOOKFLOW_ENCRYPTION_KEYS of the stack's API and worker. */
  encryptionKeys: string;
  temporalBinary: string;
  request<T = Json>(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  restartTemporal: EmbeddedServers['restartTemporal'];
  restartFerretDB: EmbeddedServers['restartFerretDB'];
  pids: EmbeddedServers['pids'];
  /** Creates a project and returns its API key. */
  newProject(name?: string): Promise<{ id: string; key: string }>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** The SSRF guard is off by default here: tests deliver to loopback receivers. */
  allowPrivateTargets?: boolean;
  /** Run a worker in this process (default). Without one, workflows start but nothing runs them. */
  worker?: boolean;
  /** Deliveries per bulk-replay page: small by default so that tests cross continue-as-new. */
  bulkPageSize?: number;
  /** How often the view reconciler runs. */
  reconcileIntervalMs?: number;
}

export async function startStack({
  allowPrivateTargets = true,
  worker: withWorker = true,
  bulkPageSize = 7,
  reconcileIntervalMs,
}: StackOptions = {}): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-test-'));
  const servers = await startEmbeddedServers(dataDir);
  const { mongoUri, temporalAddress } = servers;
  const logger = createLogger(process.env.LOG_LEVEL ?? 'silent');
  const keyring = parseKeys(TEST_ENCRYPTION_KEYS);
  useKeyring(keyring);
  await connectMongo(mongoUri);
  await checkStoredKeys(keyring);
  const client = await connectTemporalClient(temporalAddress, 'default', logger);
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const worker = withWorker
    ? await createDeliveryWorker({
        client,
        namespace: 'default',
        taskQueue,
        allowPrivateTargets,
        logger,
        reconcileIntervalMs,
      })
    : null;
  const workerRun = worker?.worker.run();
  const adminKey = `admin_${randomBytes(16).toString('hex')}`;
  const app = createApp({
    client,
    taskQueue,
    adminKey,
    maxBodyBytes: 256 * 1024,
    bulkPageSize,
    apiKeyCacheMs: 5_000,
    allowPrivateTargets,
    logger,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const request: Stack['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, body: parsed as Json, headers: res.headers };
  };

  return {
    baseUrl,
    app,
    adminKey,
    client,
    temporalAddress,
    mongoUri,
    taskQueue,
    dataDir,
    encryptionKeys: TEST_ENCRYPTION_KEYS,
    temporalBinary: join(HOOKFLOW_HOME, 'venv', 'bin', 'temporal'),
    request,
    restartTemporal: servers.restartTemporal,
    restartFerretDB: servers.restartFerretDB,
    pids: servers.pids,
    async newProject(name = 'test') {
      const res = await request('POST', '/v1/projects', { key: adminKey, body: { name } });
      if (res.status !== 201)
        throw new Error(`project creation failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, key: res.body.api_key.key };
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (worker) {
        worker.worker.shutdown();
        await workerRun;
        await worker.close();
      }
      await client.connection.close();
      await mongoose.disconnect();
      await servers.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `read` until `done` holds, returning the last value; fails after `timeoutMs`. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await read();
  }
  return last;
}

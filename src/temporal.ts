// The Temporal SDK's runtime and the client connection, the same for every role.
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { freePort } from './embedded';
import type { Logger } from './logger';
import { exposeSdkMetrics } from './metrics';

let runtimeInstalled = false;

/**
 * Routes the SDK's own logs, its native core's included (warnings and errors only), into our pino logger and
 * serves its metrics on a loopback port for /metrics to include. Once per process, before any connection.
 */
export async function installRuntime(logger: Logger): Promise<void> {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const metricsPort = await freePort();
  exposeSdkMetrics(`http://127.0.0.1:${metricsPort}/metrics`);
  Runtime.install({
    telemetryOptions: {
      // Core's own logs (connection retries, workflow task failures) join ours as JSON lines; without
      // `forward` it prints them to stderr as coloured text.
      logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} },
      metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}`, countersTotalSuffix: true } },
    },
    // main.ts owns SIGINT/SIGTERM: it stops the API first, then drains the worker.
    shutdownSignals: [],
    logger: new DefaultLogger('WARN', ({ level, message, meta }) => {
      logger[level === 'ERROR' ? 'error' : 'warn']({ ...meta, component: 'temporal-sdk' }, message);
    }),
  });
}

/**
 * Connects, retrying for up to `timeoutMs` while the server finishes starting. The connection is the SDK's
 * native one (Rust gRPC), as the worker's: starting a workflow through it costs the API about a third less
 * time than through the JavaScript gRPC client (bench/README.md).
 */
export async function connectTemporalClient(
  address: string,
  namespace: string,
  logger: Logger,
  timeoutMs = 60_000,
): Promise<Client> {
  await installRuntime(logger);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await NativeConnection.connect({ address });
      try {
        await connection.workflowService.describeNamespace({ namespace });
      } catch (err) {
        await connection.close();
        throw err;
      }
      return new Client({ connection, namespace });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

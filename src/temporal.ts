// The Temporal SDK's runtime and the client connection, the same for every role.
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { DefaultLogger, NativeConnection, type NativeConnectionOptions, Runtime } from '@temporalio/worker';
import { freePort } from './embedded';
import type { Logger } from './logger';
import { exposeSdkMetrics } from './metrics';
import { temporalPlugins } from './tracing';

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
 * How to reach the Temporal frontend at TEMPORAL_ADDRESS, read the way Temporal's own tools read it (the SDK's
 * environment configuration): TEMPORAL_API_KEY, TEMPORAL_TLS and TEMPORAL_TLS_* (CA, client certificate and
 * key, server name), TEMPORAL_GRPC_META_*, and a TOML profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE).
 */
export function temporalConnectionOptions(env: NodeJS.ProcessEnv = process.env): NativeConnectionOptions {
  try {
    const { connectionOptions } = loadClientConnectConfig({
      overrideEnvVars: Object.fromEntries(
        Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
      ),
    });
    return connectionOptions;
  } catch (err) {
    throw new Error(
      `the Temporal connection settings (TEMPORAL_*) cannot be used: ${(err as Error).message}`,
    );
  }
}

/** Failures that waiting does not mend (certificates, credentials): start-up stops at once with them. */
const LASTING_FAILURE =
  /certificate|tls|handshake|alert|x509|UnknownIssuer|NotValidForName|unauthenticated|permission denied|api key/i;

/**
 * Connects, retrying for up to `timeoutMs` while the server finishes starting; a TLS or credential failure
 * ends it at once, saying which setting to check. The connection is the SDK's native one (Rust gRPC), as
 * the worker's: starting a workflow through it costs the API about a third less time than through the
 * JavaScript gRPC client (bench/README.md).
 */
export async function connectTemporalClient(
  target: string | NativeConnectionOptions,
  namespace: string,
  logger: Logger,
  timeoutMs = 60_000,
): Promise<Client> {
  await installRuntime(logger);
  const options = typeof target === 'string' ? { address: target } : target;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await NativeConnection.connect(options);
      try {
        await connection.workflowService.describeNamespace({ namespace });
      } catch (err) {
        await connection.close();
        throw err;
      }
      return new Client({ connection, namespace, plugins: temporalPlugins() });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (LASTING_FAILURE.test(message))
        throw new Error(
          `could not connect to Temporal at ${options.address}${options.tls ? ' over TLS' : ''}: ${message} (check TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH or TEMPORAL_API_KEY)`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `could not reach Temporal at ${options.address} within ${timeoutMs / 1000} s: ${message}`,
        );
      await sleep(250);
    }
  }
}

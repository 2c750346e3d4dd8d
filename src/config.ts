// All configuration comes from environment variables; each is listed with its default in the README.
import { join } from 'node:path';
import { z } from 'zod';
import { TASK_QUEUE_DEFAULT } from './delivery-contract';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

const EnvSchema = z.object({
  HOOKFLOW_HOST: z.string().default('127.0.0.1'),
  HOOKFLOW_PORT: port(3000),
  HOOKFLOW_WORKER_PORT: port(3001),
  HOOKFLOW_ADMIN_KEY: z.string().min(16).optional(),
  HOOKFLOW_ENCRYPTION_KEYS: z.string().optional(),
  HOOKFLOW_HOME: z.string().default(join(__dirname, '..', '.hookflow')),
  HOOKFLOW_TEMPORAL_PORT: port(7233),
  HOOKFLOW_TEMPORAL_UI_PORT: port(8233),
  HOOKFLOW_FERRETDB_PORT: port(27117),
  HOOKFLOW_TASK_QUEUE: z.string().default(TASK_QUEUE_DEFAULT),
  HOOKFLOW_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  HOOKFLOW_ALLOW_PRIVATE_TARGETS: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  HOOKFLOW_EGRESS_PROXY: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// proxy URL' })
    .optional(),
  HOOKFLOW_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  HOOKFLOW_BULK_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  HOOKFLOW_RECONCILE_INTERVAL_S: z.coerce.number().int().min(1).max(3600).default(60),
  HOOKFLOW_API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  MONGODB_URI: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  // Read by the SDK's environment configuration (src/temporal.ts); listed to be validated and documented.
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0']).optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_UI_URL: z.string().optional(),
  // Read by OpenTelemetry's exporter (src/tracing.ts), with the other standard OTEL_* variables.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type Config = z.infer<typeof EnvSchema>;

/** Every variable hookflow reads; the README's table lists each one. */
export const ENV_VARS = Object.keys(EnvSchema.shape);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

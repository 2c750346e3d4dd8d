// Prometheus metrics. Labels never carry endpoint, event or project ids: a metric per endpoint would grow
// without bound with the number of customers. Per-endpoint questions go to the API and the Temporal UI.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { CIRCUIT_STATES, EndpointHealth } from './endpoint-health/model';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'hookflow_' });

export const eventsPublished = new Counter({
  name: 'hookflow_events_published_total',
  help: 'Events accepted by POST /v1/events; result=duplicate for a repeat with the same idempotency key.',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const deliveryTransitions = new Counter({
  name: 'hookflow_deliveries_total',
  help: 'Deliveries entering each status: pending (workflow started), retrying, succeeded, failed, cancelled.',
  labelNames: ['status', 'trigger'] as const,
  registers: [registry],
});

export const workflowStarts = new Counter({
  name: 'hookflow_delivery_workflow_starts_total',
  help: 'Delivery workflows started; eager=true when the first workflow task came back in the start call (a worker in the same process).',
  labelNames: ['eager'] as const,
  registers: [registry],
});

export const attempts = new Counter({
  name: 'hookflow_delivery_attempts_total',
  help: 'HTTP attempts by outcome class: 2xx, 3xx, 4xx, 5xx, timeout, network, blocked.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const attemptDuration = new Histogram({
  name: 'hookflow_delivery_attempt_duration_seconds',
  help: 'Time from sending a webhook to the end of its answer (or the failure), by outcome class.',
  labelNames: ['outcome'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export const viewConflicts = new Counter({
  name: 'hookflow_view_conflicts_total',
  help: 'Attempts that could not begin because their delivery view disagreed with the workflow; each is retried. Should stay 0.',
  registers: [registry],
});

export const viewsReconciled = new Counter({
  name: 'hookflow_views_reconciled_total',
  help: 'Delivery views made final by the reconciler after their workflow ended outside hookflow (terminate, timeout, Temporal cancel), by the status recorded.',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const holds = new Counter({
  name: 'hookflow_delivery_holds_total',
  help: 'Times a delivery was held back by its endpoint instead of making an attempt, by reason: rate_limited, in_flight, circuit_open, endpoint_paused, endpoint_disabled.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const circuitTransitions = new Counter({
  name: 'hookflow_circuit_transitions_total',
  help: 'Endpoint circuit breakers entering each state (open, half_open, closed).',
  labelNames: ['state'] as const,
  registers: [registry],
});

export const endpointCircuits = new Gauge({
  name: 'hookflow_endpoint_circuits',
  help: 'Endpoints whose circuit breaker is in each state, read from the store at scrape time (closed: those that were ever opened).',
  labelNames: ['state'] as const,
  registers: [registry],
  async collect() {
    for (const state of CIRCUIT_STATES) {
      this.set({ state }, await EndpointHealth.countDocuments({ state }).catch(() => 0));
    }
  },
});

export const httpRequests = new Histogram({
  name: 'hookflow_http_request_duration_seconds',
  help: 'API requests by method, route template and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** Where the Temporal SDK's own Prometheus exporter listens in this process, if a worker runs here. */
let sdkMetricsUrl: string | null = null;

export function exposeSdkMetrics(url: string): void {
  sdkMetricsUrl = url;
}

/** hookflow's metrics, then the worker's Temporal SDK metrics (temporal_*), in one scrape. */
export async function metricsText(): Promise<string> {
  const own = await registry.metrics();
  if (!sdkMetricsUrl) return own;
  try {
    const res = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(2000) });
    return `${own}\n${await res.text()}`;
  } catch {
    // The SDK exporter is gone (the worker is shutting down): our own metrics still count.
    return own;
  }
}

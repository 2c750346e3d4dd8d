// OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: one
// trace per publish, from the API request through each workflow start, the workflow, each attempt and its
// webhook request. Temporal's interceptors (one plugin, for the client and the worker) carry the context
// through workflows and activities; the exporter reads the standard OTEL_* variables. Off, nothing is
// registered and `inSpan` calls its function directly.
import { randomBytes } from 'node:crypto';
import {
  type Attributes,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

export const TRACER = 'hookflow';

let plugin: OpenTelemetryPlugin | null = null;
let provider: NodeTracerProvider | null = null;

/** Starts tracing if the environment asks for it; returns whether it did. Once per process. */
export function startTracing(env: NodeJS.ProcessEnv = process.env): boolean {
  if (provider) return true;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return false;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME ?? 'hookflow' });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // The global tracer, the AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  plugin = new OpenTelemetryPlugin({ resource, spanProcessor });
  return true;
}

/** The Temporal client and worker plugins that carry traces through workflows: none when tracing is off. */
export function temporalPlugins(): OpenTelemetryPlugin[] {
  return plugin ? [plugin] : [];
}

/** Sends the spans still buffered (at shutdown). */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown();
}

interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  parentHeaders?: Record<string, unknown>;
}

/**
 * Runs `fn` in a span of its own (a child of the active one), recording an exception as its error. Ids as
 * attributes, never payloads or secrets. `spanOptions` is only called when tracing is on: with it off, a
 * delivery's path builds nothing for it.
 */
export function inSpan<T>(
  name: string,
  spanOptions: () => SpanOptions,
  fn: (span: Span | null) => Promise<T>,
): Promise<T> {
  if (!provider) return fn(null);
  const options = spanOptions();
  const parent = options.parentHeaders
    ? propagation.extract(context.active(), options.parentHeaders)
    : context.active();
  return trace
    .getTracer(TRACER)
    .startActiveSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
      parent,
      async (span) => {
        try {
          return await fn(span);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      },
    );
}

/**
 * W3C trace-context headers for an outgoing request made in `span`: its own context when tracing is on, so the
 * receiver's spans join the publish's trace; a fresh, unsampled context otherwise, so a receiver that asked
 * for one always gets a valid `traceparent` to continue.
 */
export function traceHeaders(span: Span | null): Record<string, string> {
  if (!span)
    return { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00` };
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return carrier;
}

/** Adds attributes to the active span (the activity's, a request's), if tracing is on. */
export function annotateSpan(attributes: () => Attributes): void {
  if (provider) trace.getActiveSpan()?.setAttributes(attributes());
}

export { SpanKind };

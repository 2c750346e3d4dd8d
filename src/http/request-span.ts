// One server span per API request when tracing is on (src/tracing.ts), continuing a trace the caller started
// (`traceparent`), so that a publish's workflow starts, workflows and webhook requests hang under it.
import type { Context, Next } from 'koa';
import { inSpan, SpanKind } from '../tracing';
import type { AuthState } from './auth';

export async function requestSpan(ctx: Context, next: Next) {
  await inSpan(
    ctx.method,
    () => ({
      kind: SpanKind.SERVER,
      parentHeaders: ctx.headers,
      attributes: { 'http.request.method': ctx.method },
    }),
    async (span) => {
      try {
        await next();
      } finally {
        if (span) {
          // The route template, never the path or the query: no ids or values in the span's name.
          const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
          const auth = ctx.state.auth as AuthState | undefined;
          span.updateName(`${ctx.method} ${route}`);
          span.setAttributes({
            'http.route': route,
            'http.response.status_code': ctx.status,
            ...(auth?.projectId ? { 'hookflow.project_id': auth.projectId } : {}),
            ...(typeof ctx.state.log?.event_id === 'string'
              ? { 'hookflow.event_id': ctx.state.log.event_id }
              : {}),
          });
        }
      }
    },
  );
}

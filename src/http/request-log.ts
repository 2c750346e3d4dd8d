// One log line and one histogram sample per API request. Outermost middleware, so it sees the final status
// of every answer, errors included. Never logs bodies, query strings or headers: they carry payloads,
// secrets and keys.
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../logger';
import { httpRequests } from '../metrics';
import type { AuthState } from './auth';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLog(logger: Logger) {
  return async function logRequest(ctx: Context, next: Next) {
    const started = performance.now();
    const given = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(given) ? given : randomUUID();
    ctx.set('x-request-id', requestId);
    try {
      await next();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      // The route template, not the path: ids in metric labels would grow without bound.
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      httpRequests.observe({ method: ctx.method, route, status: String(ctx.status) }, seconds);
      const auth = ctx.state.auth as AuthState | undefined;
      if (route !== '/metrics' && route !== '/healthz' && route !== '/readyz') {
        logger.info(
          {
            request_id: requestId,
            method: ctx.method,
            route,
            path: ctx.path,
            status: ctx.status,
            duration_ms: Math.round(seconds * 1000),
            project_id: auth?.projectId,
            api_key_id: auth?.apiKeyId,
            ...(ctx.state.log as Record<string, unknown> | undefined),
          },
          'request',
        );
      }
    }
  };
}

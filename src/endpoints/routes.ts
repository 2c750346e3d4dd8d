import Router from '@koa/router';
import { z } from 'zod';
import { auth } from '../http/auth';
import { notFound } from '../http/errors';
import { listPage, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery, resourceId } from '../http/validate';
import { newId } from '../ids';
import { DEFAULT_RETRY } from '../retry-schedule';
import { generateSecret } from '../signing';
import { DEFAULT_TIMEOUT_MS, Endpoint, presentEndpoint } from './model';
import { CreateEndpointBody, UpdateEndpointBody } from './schemas';

const EndpointPath = z.object({ id: resourceId('ep') });
const ListQuery = z.object({ ...pageQuery, status: z.enum(['active', 'paused', 'disabled']).optional() });

export function endpointRoutes(): Router {
  const router = new Router();

  router.post('/v1/endpoints', async (ctx) => {
    const body = parseBody(ctx, CreateEndpointBody);
    const secret = body.secret ?? generateSecret();
    const endpoint = await Endpoint.create({
      _id: newId('ep'),
      project_id: auth(ctx).projectId,
      url: body.url,
      description: body.description ?? '',
      event_types: body.event_types ?? [],
      status: body.status ?? 'active',
      headers: body.headers ?? {},
      timeout_ms: body.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      retry: { ...DEFAULT_RETRY, ...body.retry },
      rate_limit_per_s: body.rate_limit_per_s ?? null,
      metadata: body.metadata ?? {},
      secrets: [{ secret, expires_at: null, created_at: new Date() }],
    });
    ctx.status = 201;
    // The signing secret is shown here once (and on rotation), never in reads or lists.
    ctx.body = { ...presentEndpoint(endpoint.toObject()), secret };
  });

  router.get('/v1/endpoints', async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    const filter = {
      project_id: auth(ctx).projectId,
      ...(q.status ? { status: q.status } : {}),
    };
    ctx.body = await listPage(Endpoint, filter, q, presentEndpoint);
  });

  router.get('/v1/endpoints/:id', async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const endpoint = await Endpoint.findOne({ _id: id, project_id: auth(ctx).projectId }).lean();
    if (!endpoint) throw notFound('endpoint');
    ctx.body = presentEndpoint(endpoint);
  });

  router.patch('/v1/endpoints/:id', async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const body = parseBody(ctx, UpdateEndpointBody);
    const current = await Endpoint.findOne({ _id: id, project_id: auth(ctx).projectId }).lean();
    if (!current) throw notFound('endpoint');
    const { retry, ...rest } = body;
    const set: Record<string, unknown> = { ...rest };
    if (retry) set.retry = { ...current.retry, ...retry };
    if (body.status && body.status !== 'disabled') set.disabled_reason = null;
    if (body.status === 'disabled') set.disabled_reason = 'disabled by request';
    const updated = await Endpoint.findOneAndUpdate(
      { _id: id, project_id: auth(ctx).projectId },
      { $set: set },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw notFound('endpoint');
    ctx.body = presentEndpoint(updated);
  });

  router.delete('/v1/endpoints/:id', async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const deleted = await Endpoint.findOneAndDelete({ _id: id, project_id: auth(ctx).projectId }).lean();
    if (!deleted) throw notFound('endpoint');
    ctx.status = 204;
  });

  return router;
}

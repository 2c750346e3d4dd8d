import Router from '@koa/router';
import { z } from 'zod';
import { auth } from '../http/auth';
import { notFound } from '../http/errors';
import { listPage, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery, resourceId } from '../http/validate';
import { ApiKey, issueApiKey, presentApiKey } from './model';

export const CreateApiKeyBody = z.strictObject({ name: z.string().trim().max(200).default('') });
const KeyPath = z.object({ id: resourceId('key') });

export function apiKeyRoutes(): Router {
  const router = new Router();
  router.post('/v1/api-keys', async (ctx) => {
    const body = parseBody(ctx, CreateApiKeyBody.default({ name: '' }));
    const { doc, key } = await issueApiKey(auth(ctx).projectId, body.name);
    ctx.status = 201;
    ctx.body = { ...presentApiKey(doc), key };
  });
  router.get('/v1/api-keys', async (ctx) => {
    const q = parseQuery(ctx, z.object(pageQuery));
    ctx.body = await listPage(ApiKey, { project_id: auth(ctx).projectId }, q, presentApiKey);
  });
  router.delete('/v1/api-keys/:id', async (ctx) => {
    const { id } = parsePath(ctx, KeyPath);
    const revoked = await ApiKey.findOneAndUpdate(
      { _id: id, project_id: auth(ctx).projectId },
      { $set: { revoked_at: new Date() } },
    ).lean();
    if (!revoked) throw notFound('API key');
    ctx.status = 204;
  });
  return router;
}

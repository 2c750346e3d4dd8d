import Router from '@koa/router';
import { z } from 'zod';
import { auth, projectKeyOnly } from '../http/auth';
import { notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { listPage, pageOf, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery, resourceId } from '../http/validate';
import {
  ApiKey,
  ApiKeyResource,
  type ApiKeyVerifier,
  issueApiKey,
  NewApiKeyResource,
  presentApiKey,
} from './model';

export const CreateApiKeyBody = z.strictObject({ name: z.string().trim().max(200).default('') });
const KeyPath = z.object({ id: resourceId('key') });
const ListQuery = z.object(pageQuery);

export const apiKeyDocs: RouteDocs = {
  'POST /v1/api-keys': {
    tag: 'API keys',
    summary: 'Create an API key',
    body: CreateApiKeyBody,
    bodyOptional: true,
    responses: { 201: { description: 'The key; its value is shown only here.', schema: NewApiKeyResource } },
  },
  'GET /v1/api-keys': {
    tag: 'API keys',
    summary: 'List API keys',
    query: ListQuery,
    responses: { 200: { description: 'A page of keys.', schema: pageOf(ApiKeyResource, 'ApiKeyPage') } },
  },
  'DELETE /v1/api-keys/{id}': {
    tag: 'API keys',
    summary: 'Revoke an API key',
    path: KeyPath,
    responses: {
      204: {
        description:
          'Revoked: the key stops working at once on the API process that answers, and on every other within ' +
          'HOOKFLOW_API_KEY_CACHE_MS (5 seconds by default).',
      },
    },
  },
};

export function apiKeyRoutes(apiKeys: ApiKeyVerifier): Router {
  const router = new Router();
  router.post('/v1/api-keys', projectKeyOnly, async (ctx) => {
    const body = parseBody(ctx, CreateApiKeyBody.default({ name: '' }));
    const { doc, key } = await issueApiKey(auth(ctx).projectId, body.name);
    ctx.status = 201;
    ctx.body = { ...presentApiKey(doc), key };
  });
  router.get('/v1/api-keys', projectKeyOnly, async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    ctx.body = await listPage(ApiKey, { project_id: auth(ctx).projectId }, q, presentApiKey);
  });
  router.delete('/v1/api-keys/:id', projectKeyOnly, async (ctx) => {
    const { id } = parsePath(ctx, KeyPath);
    const revoked = await ApiKey.findOneAndUpdate(
      { _id: id, project_id: auth(ctx).projectId },
      { $set: { revoked_at: new Date() } },
    ).lean();
    if (!revoked) throw notFound('API key');
    apiKeys.forget(revoked.hash);
    ctx.status = 204;
  });
  return router;
}

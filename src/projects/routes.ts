import Router from '@koa/router';
import { z } from 'zod';
import { type ApiKeyVerifier, issueApiKey, NewApiKeyResource, presentApiKey } from '../api-keys/model';
import { requireAdmin } from '../http/auth';
import type { RouteDocs } from '../http/openapi';
import { parseBody } from '../http/validate';
import { newId } from '../ids';
import { Project, ProjectResource, presentProject } from './model';

export const CreateProjectBody = z.strictObject({ name: z.string().trim().min(1).max(200) });

export const projectDocs: RouteDocs = {
  'POST /v1/projects': {
    tag: 'Projects',
    summary: 'Create a project',
    description: 'With the admin key. Answers the project and its first API key.',
    auth: 'admin',
    body: CreateProjectBody,
    responses: {
      201: {
        description: 'The project and its first API key.',
        schema: ProjectResource.extend({ api_key: NewApiKeyResource }).meta({ id: 'NewProject' }),
      },
    },
  },
};

export function projectRoutes(adminKey: string, apiKeys: ApiKeyVerifier): Router {
  const router = new Router();
  router.post('/v1/projects', requireAdmin(adminKey, apiKeys), async (ctx) => {
    const body = parseBody(ctx, CreateProjectBody);
    const project = await Project.create({ _id: newId('prj'), name: body.name });
    const { doc, key } = await issueApiKey(project._id, 'default');
    ctx.status = 201;
    ctx.body = { ...presentProject(project.toObject()), api_key: { ...presentApiKey(doc), key } };
  });
  return router;
}

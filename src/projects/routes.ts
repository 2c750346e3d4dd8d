import Router from '@koa/router';
import { z } from 'zod';
import { type ApiKeyVerifier, issueApiKey, NewApiKeyResource, presentApiKey } from '../api-keys/model';
import { catalogueChanged } from '../event-types/routes';
import { auth, projectKeyOnly, requireAdmin } from '../http/auth';
import { notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { parseBody } from '../http/validate';
import { newId } from '../ids';
import { Project, ProjectResource, presentProject } from './model';

export const CreateProjectBody = z.strictObject({ name: z.string().trim().min(1).max(200) });

const UpdateProjectBody = z
  .strictObject({
    name: CreateProjectBody.shape.name,
    strict_event_types: z.boolean(),
    retention_days: z.int().min(1).max(3650),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');

export const projectDocs: RouteDocs = {
  'GET /v1/project': {
    tag: 'Projects',
    summary: "The API key's project and its settings",
    responses: { 200: { description: 'The project.', schema: ProjectResource } },
  },
  'PATCH /v1/project': {
    tag: 'Projects',
    summary: "Update the API key's project",
    body: UpdateProjectBody,
    responses: { 200: { description: 'The project as updated.', schema: ProjectResource } },
  },
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

/** The caller's own project (its API key's), for reading and changing its settings. */
export function projectSettingsRoutes(): Router {
  const router = new Router();
  router.get('/v1/project', projectKeyOnly, async (ctx) => {
    const project = await Project.findById(auth(ctx).projectId).lean();
    if (!project) throw notFound('project');
    ctx.body = presentProject(project);
  });
  router.patch('/v1/project', projectKeyOnly, async (ctx) => {
    const body = parseBody(ctx, UpdateProjectBody);
    const project = await Project.findOneAndUpdate(
      { _id: auth(ctx).projectId },
      { $set: body },
      { returnDocument: 'after' },
    ).lean();
    if (!project) throw notFound('project');
    await catalogueChanged(project._id);
    ctx.body = presentProject(project);
  });
  return router;
}

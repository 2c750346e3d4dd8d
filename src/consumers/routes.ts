import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { isDuplicateKeyError } from '../db';
import { Endpoint } from '../endpoints/model';
import { auth, projectKeyOnly } from '../http/auth';
import { ApiError, conflict, notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { listPage, pageOf, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery } from '../http/validate';
import { newId } from '../ids';
import { Consumer, ConsumerResource, findConsumer, presentConsumer } from './model';
import { CreateConsumerBody, consumerRef, UpdateConsumerBody } from './schemas';
import {
  CurrentPortalSessionResource,
  DEFAULT_SESSION_S,
  issuePortalSession,
  MAX_SESSION_S,
  PortalSessionResource,
  revokePortalSessions,
} from './sessions';

const ConsumerPath = z.object({ id: consumerRef });
export const CreatePortalSessionBody = z.strictObject({
  expires_in_s: z
    .int()
    .min(60)
    .max(MAX_SESSION_S)
    .optional()
    .meta({
      description: `Seconds until it expires: ${DEFAULT_SESSION_S} by default, ${MAX_SESSION_S} at most.`,
    }),
  read_only: z.boolean().optional().meta({
    description:
      'A session that may only read (default false): every request that would change something is 403.',
  }),
});
const ListQuery = z.object(pageQuery);

export const consumerDocs: RouteDocs = {
  'POST /v1/consumers': {
    tag: 'Consumers',
    summary: 'Create a consumer',
    description: 'One of your customers; endpoints created with its `consumer_id` are its own.',
    body: CreateConsumerBody,
    responses: { 201: { description: 'The consumer.', schema: ConsumerResource } },
    errors: { 409: 'Another consumer of the project has this uid.' },
  },
  'GET /v1/consumers': {
    tag: 'Consumers',
    summary: 'List consumers',
    query: ListQuery,
    responses: {
      200: { description: 'A page of consumers.', schema: pageOf(ConsumerResource, 'ConsumerPage') },
    },
  },
  'GET /v1/consumers/{id}': {
    tag: 'Consumers',
    summary: 'Get a consumer',
    path: ConsumerPath,
    responses: { 200: { description: 'The consumer.', schema: ConsumerResource } },
  },
  'PATCH /v1/consumers/{id}': {
    tag: 'Consumers',
    summary: 'Update a consumer',
    path: ConsumerPath,
    body: UpdateConsumerBody,
    responses: { 200: { description: 'The consumer as updated.', schema: ConsumerResource } },
    errors: { 409: 'Another consumer of the project has this uid.' },
  },
  'POST /v1/consumers/{id}/portal-sessions': {
    tag: 'Consumers',
    summary: 'Open a portal session for a consumer',
    description:
      'A short-lived bearer token that acts as this consumer only: its endpoints, its deliveries and their ' +
      "attempts, the events delivered to it. Project-wide routes answer it 403, other consumers' objects 404.",
    path: ConsumerPath,
    body: CreatePortalSessionBody,
    bodyOptional: true,
    responses: {
      201: { description: 'The session and its token, shown once.', schema: PortalSessionResource },
    },
  },
  'GET /v1/portal-session': {
    tag: 'Consumers',
    summary: 'The portal session making the request',
    description:
      'For a portal session only (an API key gets 403): its consumer, expiry and whether it may only read.',
    responses: { 200: { description: 'The session.', schema: CurrentPortalSessionResource } },
  },
  'DELETE /v1/consumers/{id}/portal-sessions': {
    tag: 'Consumers',
    summary: "Revoke a consumer's portal sessions",
    path: ConsumerPath,
    responses: { 204: { description: 'Every live session of the consumer stops working at once.' } },
  },
  'DELETE /v1/consumers/{id}': {
    tag: 'Consumers',
    summary: 'Delete a consumer and its endpoints',
    description: 'Its endpoints go with it; their deliveries in flight stop at their next attempt.',
    path: ConsumerPath,
    responses: { 204: { description: 'Deleted, with its endpoints.' } },
  },
};

/** The consumer the path names, of the caller's project; 404 otherwise. */
async function pathConsumer(ctx: Context) {
  const { id } = parsePath(ctx, ConsumerPath);
  const consumer = await findConsumer(auth(ctx).projectId, id);
  if (!consumer) throw notFound('consumer');
  return consumer;
}

const duplicateUid = (uid: string) => conflict(`another consumer of this project has the uid ${uid}`);

export function consumerRoutes(): Router {
  const router = new Router();

  router.post('/v1/consumers', projectKeyOnly, async (ctx) => {
    const body = parseBody(ctx, CreateConsumerBody);
    const id = newId('con');
    try {
      const consumer = await Consumer.create({
        _id: id,
        project_id: auth(ctx).projectId,
        name: body.name,
        uid: body.uid ?? null,
        uid_key: body.uid ?? id,
        metadata: body.metadata ?? {},
      });
      ctx.status = 201;
      ctx.body = presentConsumer(consumer.toObject());
    } catch (err) {
      if (body.uid && isDuplicateKeyError(err)) throw duplicateUid(body.uid);
      throw err;
    }
  });

  router.get('/v1/consumers', projectKeyOnly, async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    ctx.body = await listPage(Consumer, { project_id: auth(ctx).projectId }, q, presentConsumer);
  });

  router.get('/v1/consumers/:id', projectKeyOnly, async (ctx) => {
    const consumer = await pathConsumer(ctx);
    ctx.body = presentConsumer(consumer);
  });

  router.patch('/v1/consumers/:id', projectKeyOnly, async (ctx) => {
    const current = await pathConsumer(ctx);
    const body = parseBody(ctx, UpdateConsumerBody);
    const { projectId } = auth(ctx);
    const set: Record<string, unknown> = { ...body };
    if (body.uid !== undefined) set.uid_key = body.uid ?? current._id;
    try {
      const updated = await Consumer.findOneAndUpdate(
        { _id: current._id, project_id: projectId },
        { $set: set },
        { returnDocument: 'after' },
      ).lean();
      if (!updated) throw notFound('consumer');
      ctx.body = presentConsumer(updated);
    } catch (err) {
      if (body.uid && isDuplicateKeyError(err)) throw duplicateUid(body.uid);
      throw err;
    }
  });

  router.post('/v1/consumers/:id/portal-sessions', projectKeyOnly, async (ctx) => {
    const consumer = await pathConsumer(ctx);
    const body = parseBody(ctx, CreatePortalSessionBody.default({}));
    const { projectId } = auth(ctx);
    const { doc, token } = await issuePortalSession(
      projectId,
      consumer._id,
      body.expires_in_s ?? DEFAULT_SESSION_S,
      body.read_only ?? false,
    );
    ctx.status = 201;
    // The link opens the portal on this server; the token rides in the fragment, which no request carries.
    const url = `${ctx.protocol}://${ctx.host}/portal#token=${token}`;
    ctx.body = {
      id: doc._id,
      consumer_id: consumer._id,
      url,
      token,
      expires_at: doc.expires_at,
      read_only: doc.read_only,
    };
  });

  router.get('/v1/portal-session', async (ctx) => {
    const { projectId, consumerId, session } = auth(ctx);
    if (!session || !consumerId) throw new ApiError(403, 'only a portal session has one');
    const consumer = await findConsumer(projectId, consumerId);
    if (!consumer) throw notFound('consumer');
    ctx.body = {
      id: session.id,
      consumer_id: consumerId,
      consumer_name: consumer.name,
      expires_at: session.expiresAt,
      read_only: session.readOnly,
    };
  });

  router.delete('/v1/consumers/:id/portal-sessions', projectKeyOnly, async (ctx) => {
    const consumer = await pathConsumer(ctx);
    const { projectId } = auth(ctx);
    await revokePortalSessions(projectId, consumer._id);
    ctx.status = 204;
  });

  // Its sessions and endpoints first: a request that dies halfway leaves the consumer to delete again, never
  // endpoints or sessions whose owner is gone.
  router.delete('/v1/consumers/:id', projectKeyOnly, async (ctx) => {
    const consumer = await pathConsumer(ctx);
    const { projectId } = auth(ctx);
    await revokePortalSessions(projectId, consumer._id);
    await Endpoint.deleteMany({ project_id: projectId, consumer_id: consumer._id });
    await Consumer.deleteOne({ _id: consumer._id, project_id: projectId });
    ctx.status = 204;
  });

  return router;
}

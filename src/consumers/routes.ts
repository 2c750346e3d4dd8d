import Router from '@koa/router';
import { z } from 'zod';
import { isDuplicateKeyError } from '../db';
import { Endpoint } from '../endpoints/model';
import { auth } from '../http/auth';
import { conflict, notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { listPage, pageOf, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery } from '../http/validate';
import { newId } from '../ids';
import { Consumer, ConsumerResource, findConsumer, presentConsumer } from './model';
import { CreateConsumerBody, consumerRef, UpdateConsumerBody } from './schemas';

const ConsumerPath = z.object({ id: consumerRef });
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
  'DELETE /v1/consumers/{id}': {
    tag: 'Consumers',
    summary: 'Delete a consumer and its endpoints',
    description: 'Its endpoints go with it; their deliveries in flight stop at their next attempt.',
    path: ConsumerPath,
    responses: { 204: { description: 'Deleted, with its endpoints.' } },
  },
};

const duplicateUid = (uid: string) => conflict(`another consumer of this project has the uid ${uid}`);

export function consumerRoutes(): Router {
  const router = new Router();

  router.post('/v1/consumers', async (ctx) => {
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

  router.get('/v1/consumers', async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    ctx.body = await listPage(Consumer, { project_id: auth(ctx).projectId }, q, presentConsumer);
  });

  router.get('/v1/consumers/:id', async (ctx) => {
    const { id } = parsePath(ctx, ConsumerPath);
    const consumer = await findConsumer(auth(ctx).projectId, id);
    if (!consumer) throw notFound('consumer');
    ctx.body = presentConsumer(consumer);
  });

  router.patch('/v1/consumers/:id', async (ctx) => {
    const { id } = parsePath(ctx, ConsumerPath);
    const body = parseBody(ctx, UpdateConsumerBody);
    const { projectId } = auth(ctx);
    const current = await findConsumer(projectId, id);
    if (!current) throw notFound('consumer');
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

  // Its endpoints first: a request that dies halfway leaves the consumer to delete again, never endpoints
  // whose owner is gone.
  router.delete('/v1/consumers/:id', async (ctx) => {
    const { id } = parsePath(ctx, ConsumerPath);
    const { projectId } = auth(ctx);
    const consumer = await findConsumer(projectId, id);
    if (!consumer) throw notFound('consumer');
    await Endpoint.deleteMany({ project_id: projectId, consumer_id: consumer._id });
    await Consumer.deleteOne({ _id: consumer._id, project_id: projectId });
    ctx.status = 204;
  });

  return router;
}

import Router from '@koa/router';
import { z } from 'zod';
import { DELIVERY_STATUSES } from '../delivery-contract';
import { auth } from '../http/auth';
import { notFound } from '../http/errors';
import { createdBetween, cursorFilter, page, pageQuery } from '../http/pagination';
import { parsePath, parseQuery, resourceId, timestamp } from '../http/validate';
import { Delivery, DeliveryAttempt, presentAttempt, presentDelivery } from './model';

const DeliveryPath = z.object({ id: resourceId('dlv') });
const ListQuery = z.object({
  ...pageQuery,
  endpoint_id: resourceId('ep').optional(),
  event_id: resourceId('evt').optional(),
  event_type: z.string().max(128).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  since: timestamp.optional(),
  until: timestamp.optional(),
});
const AttemptsQuery = z.object({ limit: pageQuery.limit, cursor: z.coerce.number().int().min(0).optional() });

export function deliveryRoutes(): Router {
  const router = new Router();

  router.get('/v1/deliveries', async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    const filter = {
      project_id: auth(ctx).projectId,
      ...(q.endpoint_id ? { endpoint_id: q.endpoint_id } : {}),
      ...(q.event_id ? { event_id: q.event_id } : {}),
      ...(q.event_type ? { event_type: q.event_type } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...createdBetween(q.since, q.until),
      ...cursorFilter(q.cursor),
    };
    const docs = await Delivery.find(filter)
      .sort({ _id: -1 })
      .limit(q.limit + 1)
      .lean();
    ctx.body = page(docs, q.limit, presentDelivery);
  });

  router.get('/v1/deliveries/:id', async (ctx) => {
    const { id } = parsePath(ctx, DeliveryPath);
    const delivery = await Delivery.findOne({ _id: id, project_id: auth(ctx).projectId }).lean();
    if (!delivery) throw notFound('delivery');
    ctx.body = presentDelivery(delivery);
  });

  // Attempts in order; the cursor is the last attempt number seen.
  router.get('/v1/deliveries/:id/attempts', async (ctx) => {
    const { id } = parsePath(ctx, DeliveryPath);
    const q = parseQuery(ctx, AttemptsQuery);
    const { projectId } = auth(ctx);
    if (!(await Delivery.exists({ _id: id, project_id: projectId }))) throw notFound('delivery');
    const docs = await DeliveryAttempt.find({
      delivery_id: id,
      project_id: projectId,
      ...(q.cursor !== undefined ? { attempt: { $gt: q.cursor } } : {}),
    })
      .sort({ attempt: 1 })
      .limit(q.limit + 1)
      .lean();
    const more = docs.length > q.limit;
    const shown = more ? docs.slice(0, q.limit) : docs;
    ctx.body = {
      data: shown.map(presentAttempt),
      next_cursor: more ? String(shown[shown.length - 1].attempt) : null,
    };
  });

  return router;
}

// /v1/event-types: the catalogue (create, list, read, update, delete), and `assertPublishable`, the check
// POST /v1/events makes against it.
import Router from '@koa/router';
import type { Context } from 'koa';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { isDuplicateKeyError } from '../db';
import { bumpRoutingStamp, COPY_TRUST_MS, type RoutingStamp } from '../endpoints/routing-stamp';
import { eventTypeName } from '../endpoints/schemas';
import { auth, projectKeyOnly } from '../http/auth';
import { conflict, fieldError, notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { pageAnswer, pageOf, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery } from '../http/validate';
import { Project } from '../projects/model';
import { EventType, type EventTypeDoc, EventTypeResource, eventTypeId, presentEventType } from './model';
import { assertMatches, schemaProblem } from './validation';

const jsonSchema = z
  .record(z.string(), z.json())
  .meta({ description: 'A JSON Schema (2020-12) for the payload.', example: { type: 'object' } });
const fields = {
  description: z.string().max(1000),
  schema: jsonSchema.nullable(),
  examples: z.array(z.json()).max(20),
  archived: z.boolean(),
};
const CreateEventTypeBody = z.strictObject({
  name: eventTypeName,
  description: fields.description.optional(),
  schema: fields.schema.optional(),
  examples: fields.examples.optional(),
  archived: fields.archived.optional(),
});
const UpdateEventTypeBody = z
  .strictObject(fields)
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');
const NamePath = z.object({ name: eventTypeName });
const ListQuery = z.object({
  include_archived: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  limit: pageQuery.limit,
  cursor: eventTypeName.optional().meta({ description: 'The `next_cursor` of the page before.' }),
});

export const eventTypeDocs: RouteDocs = {
  'POST /v1/event-types': {
    tag: 'Event types',
    summary: 'Add an event type to the catalogue',
    body: CreateEventTypeBody,
    responses: { 201: { description: 'The event type.', schema: EventTypeResource } },
    errors: { 409: 'An event type of that name exists.' },
  },
  'GET /v1/event-types': {
    tag: 'Event types',
    summary: 'The catalogue, by name',
    query: ListQuery,
    responses: {
      200: {
        description:
          'One page of the catalogue in the order of names (archived types too with include_archived=true).',
        schema: pageOf(EventTypeResource, 'EventTypeList'),
      },
    },
  },
  'GET /v1/event-types/{name}': {
    tag: 'Event types',
    summary: 'Get an event type',
    path: NamePath,
    responses: { 200: { description: 'The event type.', schema: EventTypeResource } },
  },
  'PATCH /v1/event-types/{name}': {
    tag: 'Event types',
    summary: 'Update an event type',
    path: NamePath,
    body: UpdateEventTypeBody,
    responses: { 200: { description: 'The event type as updated.', schema: EventTypeResource } },
  },
  'DELETE /v1/event-types/{name}': {
    tag: 'Event types',
    summary: 'Delete an event type',
    description: 'Events of that type are then published unchecked (or refused with strict_event_types).',
    path: NamePath,
    responses: { 204: { description: 'Deleted.' } },
  },
};

/** The schema is one, and the examples match it: else a 422 that says where. */
function assertConsistent(schema: object | null, examples: unknown[]): void {
  if (schema === null) return;
  const problem = schemaProblem(schema);
  if (problem) throw fieldError('body', ['schema', ...problem.path], problem.message);
  const json = JSON.stringify(schema);
  examples.forEach((example, n) => {
    assertMatches(`check:${json}`, json, example, ['examples', n]);
  });
}

/**
 * What publishes read of a project's catalogue (its types, looked up by name, and whether it is strict), kept
 * in this API process while the project's routing stamp is unchanged: every write to its event types or
 * settings changes the stamp after the write, and a copy older than COPY_TRUST_MS is started again.
 */
interface CatalogueCopy {
  stamp: string;
  /** This process's clock when the copy was started. */
  startedAt: number;
  types: Map<string, EventTypeDoc | null>;
  strict?: boolean;
}
const catalogues = new LRUCache<string, CatalogueCopy>({ max: 1000 });
/** Names looked up per copy at most (unknown types too); past it the copy starts again. */
const MAX_NAMES = 1000;

async function catalogueEntry(projectId: string, eventType: string, stamp: RoutingStamp) {
  const key = `${stamp.version} ${stamp.reset}`;
  let copy = catalogues.get(projectId);
  if (copy?.stamp !== key || copy.types.size >= MAX_NAMES || Date.now() - copy.startedAt > COPY_TRUST_MS) {
    copy = { stamp: key, startedAt: Date.now(), types: new Map() };
    catalogues.set(projectId, copy);
  }
  let type = copy.types.get(eventType);
  if (type === undefined) {
    type = (await EventType.collection.findOne({
      _id: eventTypeId(projectId, eventType),
    } as never)) as EventTypeDoc | null;
    copy.types.set(eventType, type);
  }
  if (type || copy.strict !== undefined) return { type, strict: copy.strict ?? false };
  const project = await Project.collection.findOne({ _id: projectId } as never, {
    projection: { strict_event_types: 1 },
  });
  copy.strict = project?.strict_event_types === true;
  return { type, strict: copy.strict };
}

/** Changes the routing stamp after a write to the project's catalogue or settings (see CatalogueCopy). */
export const catalogueChanged = (projectId: string) => bumpRoutingStamp(projectId);

/**
 * Refuses (422) a publish the catalogue refuses: an archived type, a payload that does not match the type's
 * schema (issues point into the payload), or a type not in the catalogue when the project is strict. `stamp`
 * is the project's routing stamp as this publish read it.
 */
export async function assertPublishable(
  projectId: string,
  eventType: string,
  payload: unknown,
  stamp: RoutingStamp,
): Promise<void> {
  const { type, strict } = await catalogueEntry(projectId, eventType, stamp);
  if (!type) {
    if (strict)
      throw fieldError('body', ['event_type'], 'not in the event-type catalogue (the project is strict)');
    return;
  }
  if (type.archived) throw fieldError('body', ['event_type'], 'this event type is archived');
  if (type.schema_json !== null)
    assertMatches(`${type._id}:${type.version}`, type.schema_json, payload, ['payload']);
}

export function eventTypeRoutes(): Router {
  const router = new Router();
  router.post('/v1/event-types', projectKeyOnly, async (ctx) => {
    const body = parseBody(ctx, CreateEventTypeBody);
    assertConsistent(body.schema ?? null, body.examples ?? []);
    const { projectId } = auth(ctx);
    try {
      const created = await EventType.create({
        _id: eventTypeId(projectId, body.name),
        project_id: projectId,
        name: body.name,
        description: body.description ?? '',
        schema_json: body.schema ? JSON.stringify(body.schema) : null,
        examples_json: JSON.stringify(body.examples ?? []),
        archived: body.archived ?? false,
      });
      await catalogueChanged(projectId);
      ctx.status = 201;
      ctx.body = presentEventType(created.toObject());
    } catch (err) {
      if (isDuplicateKeyError(err)) throw conflict(`event type ${body.name} exists`);
      throw err;
    }
  });

  // Portal sessions may read the catalogue (its event-type picker).
  // In the order of names: `_id` is `<project>:<name>`, so a page is one stretch of the `_id` index.
  router.get('/v1/event-types', async (ctx) => {
    const q = parseQuery(ctx, ListQuery);
    const { projectId } = auth(ctx);
    const types = await EventType.find({
      project_id: projectId,
      _id: { $gt: eventTypeId(projectId, q.cursor ?? '') },
      ...(q.include_archived ? {} : { archived: false }),
    })
      .sort({ _id: 1 })
      .limit(q.limit + 1)
      .lean();
    ctx.body = pageAnswer(types, q.limit, presentEventType, (t) => t.name);
  });

  const find = async (ctx: Context) => {
    const { name } = parsePath(ctx, NamePath);
    const type = await EventType.findById(eventTypeId(auth(ctx).projectId, name)).lean();
    if (!type) throw notFound('event type');
    return type;
  };

  router.get('/v1/event-types/:name', async (ctx) => {
    ctx.body = presentEventType(await find(ctx));
  });

  router.patch('/v1/event-types/:name', projectKeyOnly, async (ctx) => {
    const body = parseBody(ctx, UpdateEventTypeBody);
    const current = await find(ctx);
    const schema =
      body.schema === undefined
        ? current.schema_json === null
          ? null
          : JSON.parse(current.schema_json)
        : body.schema;
    const examples = body.examples ?? JSON.parse(current.examples_json);
    assertConsistent(schema, examples);
    const schemaJson = schema === null ? null : JSON.stringify(schema);
    const updated = await EventType.findOneAndUpdate(
      { _id: current._id },
      {
        $set: {
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.archived !== undefined ? { archived: body.archived } : {}),
          schema_json: schemaJson,
          examples_json: JSON.stringify(examples),
          version: current.version + (schemaJson === current.schema_json ? 0 : 1),
        },
      },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw notFound('event type');
    await catalogueChanged(updated.project_id);
    ctx.body = presentEventType(updated);
  });

  router.delete('/v1/event-types/:name', projectKeyOnly, async (ctx) => {
    const current = await find(ctx);
    await EventType.deleteOne({ _id: current._id });
    await catalogueChanged(current.project_id);
    ctx.status = 204;
  });
  return router;
}

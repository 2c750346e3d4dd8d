// The OpenAPI 3.1 document, built from the zod schemas the handlers validate with. Each resource exports
// the description of its routes (`RouteDocs`) next to the routes themselves; the error answers every route
// can give are added here, from what the middleware in front of the routers does.
import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';

export interface RouteDoc {
  summary: string;
  description?: string;
  tag: string;
  /** Who may call it: a project API key (default), the admin key, or anyone (operations endpoints). */
  auth?: 'project' | 'admin' | 'none';
  path?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Whether the body may be left out (a default applies). */
  bodyOptional?: boolean;
  headers?: z.ZodObject;
  /** Success answers: status → description and schema (none for an empty answer). */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /** Error answers of the route itself, beyond those every route has (401, 422, 503...). */
  errors?: Partial<Record<404 | 409, string>>;
}

/** `'POST /v1/endpoints/{id}'` → what that route takes and answers. */
export type RouteDocs = Record<string, RouteDoc>;

export const ValidationIssueSchema = z
  .strictObject({
    loc: z
      .array(z.union([z.string(), z.number()]))
      .meta({ description: 'Where: body, query, path or header, then the field path.' }),
    msg: z.string(),
    type: z.string().meta({ description: 'The kind of problem (zod issue code).' }),
  })
  .meta({ id: 'ValidationIssue' });

export const ErrorBody = z
  .strictObject({
    detail: z.union([z.string(), z.array(ValidationIssueSchema)]).meta({
      description: 'What went wrong: a sentence, or for a 422 the list of invalid fields.',
    }),
  })
  .meta({ id: 'Error' });

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorBody } },
});

function operation(method: string, doc: RouteDoc): ZodOpenApiOperationObject {
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, answer] of Object.entries(doc.responses)) {
    responses[status] = answer.schema
      ? {
          description: answer.description,
          content: { [answer.contentType ?? 'application/json']: { schema: answer.schema } },
        }
      : { description: answer.description };
  }
  const auth = doc.auth ?? 'project';
  if (doc.body) {
    responses['400'] = errorResponse('The body is not JSON, or nests too deep, or holds too many values.');
    responses['413'] = errorResponse('The body is larger than HOOKFLOW_MAX_BODY_BYTES.');
    responses['415'] = errorResponse('The body is not application/json.');
  }
  if (auth !== 'none') {
    responses['401'] = errorResponse('No API key, or an unknown or revoked one.');
    responses['403'] = errorResponse(
      auth === 'admin' ? 'A project API key on an admin route.' : 'The admin key on a project route.',
    );
  }
  if (doc.path) responses['404'] = errorResponse('No such resource in this project.');
  for (const [status, description] of Object.entries(doc.errors ?? {})) {
    responses[status] = errorResponse(description);
  }
  if (doc.body || doc.query || doc.path || doc.headers) {
    responses['422'] = errorResponse('A field is missing or invalid; `detail` lists each one.');
  }
  responses['503'] = errorResponse('MongoDB or Temporal is unreachable; retry after the Retry-After delay.');
  return {
    summary: doc.summary,
    description: doc.description,
    tags: [doc.tag],
    operationId: operationId(method, doc.summary),
    security: auth === 'none' ? [] : [{ [auth === 'admin' ? 'adminKey' : 'apiKey']: [] }],
    requestParams: Object.fromEntries(
      Object.entries({ path: doc.path, query: doc.query, header: doc.headers }).filter(([, v]) => v),
    ),
    requestBody: doc.body
      ? { required: !doc.bodyOptional, content: { 'application/json': { schema: doc.body } } }
      : undefined,
    responses: responses as ZodOpenApiOperationObject['responses'],
  };
}

function operationId(method: string, summary: string): string {
  const words = summary
    .replace(/[^A-Za-z0-9 ]/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0].toUpperCase() + w.slice(1))].join('');
}

export function openApiDocument(docs: RouteDocs[], version: string) {
  const paths: ZodOpenApiPathsObject = {};
  for (const routes of docs) {
    for (const [route, doc] of Object.entries(routes)) {
      const [method, path] = route.split(' ');
      paths[path] ??= {};
      (paths[path] as Record<string, ZodOpenApiOperationObject>)[method.toLowerCase()] = operation(
        method,
        doc,
      );
    }
  }
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'hookflow',
        version,
        description:
          'Webhook delivery on Temporal: endpoints, events, deliveries with retries, replays and bulk recovery.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A project API key (`hf_...`).' },
          adminKey: { type: 'http', scheme: 'bearer', description: 'The admin key printed by `npm start`.' },
        },
      },
      paths,
    },
    {
      // Handlers answer with Date objects, which JSON turns into RFC 3339 strings.
      override: ({ jsonSchema, zodSchema, io }) => {
        if (zodSchema._zod.def.type === 'date' && io === 'output') {
          jsonSchema.type = 'string';
          jsonSchema.format = 'date-time';
        }
      },
    },
  );
}

/** Koa path (`/v1/endpoints/:id`) → OpenAPI path (`/v1/endpoints/{id}`). */
export function openApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z_]+)/g, '{$1}');
}

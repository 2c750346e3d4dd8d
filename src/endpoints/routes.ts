import Router from '@koa/router';
import { z } from 'zod';
import { consumerRef } from '../consumers/schemas';
import { consumerIdOf, consumerScope, findInScope } from '../consumers/scope';
import type { TemporalTarget } from '../deliveries/start';
import { readHealth, resumeEndpoint } from '../endpoint-health/circuit';
import { EndpointHealth, type EndpointHealthDoc } from '../endpoint-health/model';
import { matchesFilter } from '../events/filter';
import { auth, projectKeyOnly } from '../http/auth';
import { fieldError, notFound } from '../http/errors';
import type { RouteDocs } from '../http/openapi';
import { listPage, pageOf, pageQuery } from '../http/pagination';
import { parseBody, parsePath, parseQuery, resourceId } from '../http/validate';
import { newId } from '../ids';
import { DEFAULT_RETRY } from '../retry-schedule';
import { blockedAddress, urlHost } from '../target-policy';
import {
  currentSigning,
  newSigningSecret,
  type OutboundAuth,
  type SigningScheme,
  sealAuth,
} from './credentials';
import { DEFAULT_TIMEOUT_MS, Endpoint, type EndpointDoc, EndpointResource, presentEndpoint } from './model';
import {
  CreateEndpointBody,
  CreateOperationalEndpointBody,
  endpointFilter,
  eventTypeName,
  RotateSecretBody,
  UpdateEndpointBody,
  UpdateOperationalEndpointBody,
} from './schemas';

/** Endpoints receive a project's events; operational endpoints receive hookflow's own (src/operational). */
export interface EndpointKind {
  base: string;
  prefix: 'ep' | 'oep';
  operational: boolean;
  tag: string;
}

export const ENDPOINTS: EndpointKind = {
  base: '/v1/endpoints',
  prefix: 'ep',
  operational: false,
  tag: 'Endpoints',
};
export const OPERATIONAL_ENDPOINTS: EndpointKind = {
  base: '/v1/operational-endpoints',
  prefix: 'oep',
  operational: true,
  tag: 'Operational endpoints',
};
/** Svix's default: the old secret keeps signing for a day. */
const DEFAULT_GRACE_PERIOD_S = 24 * 60 * 60;
/** Signatures per request at most: a rotation storm cannot grow the header without bound. */
const MAX_SECRETS = 5;
const OperationalListQuery = z.object({
  ...pageQuery,
  status: z.enum(['active', 'paused', 'disabled']).optional(),
});
const ListQuery = OperationalListQuery.extend({ consumer_id: consumerRef.optional() });

const pathOf = (kind: EndpointKind) => z.object({ id: resourceId(kind.prefix) });
const FilterTestBody = z.strictObject({
  event_type: eventTypeName.optional(),
  payload: z.json().refine((v) => v !== undefined, 'payload is required'),
  headers: z.record(z.string(), z.string()).optional(),
  filter: endpointFilter.optional().meta({ description: "A filter to try instead of the endpoint's." }),
});

const EndpointWithSecret = EndpointResource.extend({
  secret: z.string().optional().meta({
    description:
      'The HMAC signing secret (whsec_...): shown on creation and rotation only. Absent for ed25519 signing, whose private key never leaves hookflow (see public_key).',
  }),
}).meta({ id: 'EndpointWithSecret' });

export function endpointDocs(kind: EndpointKind): RouteDocs {
  const EndpointPath = pathOf(kind);
  const operational = kind.operational;
  const filterTest: RouteDocs = {
    [`POST ${kind.base}/{id}/filter/test`]: {
      tag: kind.tag,
      summary: 'Test the payload filter',
      description: "Whether an event would match the endpoint's filter (or the `filter` given instead).",
      path: EndpointPath,
      body: FilterTestBody,
      responses: {
        200: {
          description: 'Whether it matches, and the filter tried.',
          schema: z
            .strictObject({ matches: z.boolean(), filter: z.record(z.string(), z.json()).nullable() })
            .meta({ id: 'FilterTestResult' }),
        },
      },
    },
  };
  return {
    ...(operational ? {} : filterTest),
    [`POST ${kind.base}`]: {
      tag: kind.tag,
      summary: 'Create an endpoint',
      body: operational ? CreateOperationalEndpointBody : CreateEndpointBody,
      responses: { 201: { description: 'The endpoint and its signing secret.', schema: EndpointWithSecret } },
    },
    [`GET ${kind.base}`]: {
      tag: kind.tag,
      summary: 'List endpoints',
      query: operational ? OperationalListQuery : ListQuery,
      responses: {
        200: {
          description: 'A page of endpoints.',
          schema: pageOf(EndpointResource, operational ? 'OperationalEndpointPage' : 'EndpointPage'),
        },
      },
    },
    [`GET ${kind.base}/{id}`]: {
      tag: kind.tag,
      summary: 'Get an endpoint',
      path: EndpointPath,
      responses: { 200: { description: 'The endpoint.', schema: EndpointResource } },
    },
    [`PATCH ${kind.base}/{id}`]: {
      tag: kind.tag,
      summary: 'Update an endpoint',
      path: EndpointPath,
      body: operational ? UpdateOperationalEndpointBody : UpdateEndpointBody,
      responses: { 200: { description: 'The endpoint as updated.', schema: EndpointResource } },
    },
    [`DELETE ${kind.base}/{id}`]: {
      tag: kind.tag,
      summary: 'Delete an endpoint',
      path: EndpointPath,
      responses: { 204: { description: 'Deleted; its deliveries in flight stop at their next attempt.' } },
    },
    [`POST ${kind.base}/{id}/secret/rotate`]: {
      tag: kind.tag,
      summary: 'Rotate the signing secret',
      description:
        'The previous secrets keep signing (one signature each) until their grace period ends. `signing` switches between HMAC and ed25519 with the new key.',
      path: EndpointPath,
      body: RotateSecretBody,
      bodyOptional: true,
      responses: { 200: { description: 'The endpoint and its new secret.', schema: EndpointWithSecret } },
    },
  };
}

/**
 * Refuses an endpoint URL or OAuth2 token URL whose host is, or resolves to, a non-public address (the SSRF
 * guard, at save time).
 */
async function assertAllowedTargets(
  body: { url?: string; auth?: OutboundAuth | null },
  allowPrivateTargets: boolean,
): Promise<void> {
  if (allowPrivateTargets) return;
  const targets: [string | undefined, string[]][] = [
    [body.url, ['url']],
    [
      body.auth?.type === 'oauth2_client_credentials' ? body.auth.token_url : undefined,
      ['auth', 'token_url'],
    ],
  ];
  for (const [url, field] of targets) {
    const blocked = url ? await blockedAddress(url) : null;
    if (url && blocked)
      throw fieldError(
        'body',
        field,
        `${urlHost(url)} is or resolves to ${blocked}, which is not a public address`,
      );
  }
}

/** A new signing key of `scheme`; a given secret is a shared HMAC one: ed25519 keys never come from outside. */
function newSigning(scheme: SigningScheme, given: string | undefined, now = new Date()) {
  if (scheme === 'ed25519' && given)
    throw fieldError('body', ['secret'], 'ed25519 keys are generated by hookflow: leave out secret');
  return newSigningSecret(scheme, given, now);
}

/** The endpoints with their breakers, as the API shows them. */
async function presentWithHealth(endpoints: EndpointDoc[]) {
  const health = (await EndpointHealth.collection
    .find({ _id: { $in: endpoints.map((e) => e._id) } } as never)
    .toArray()) as unknown as EndpointHealthDoc[];
  const byId = new Map(health.map((h) => [h._id, h]));
  return endpoints.map((e) => presentEndpoint(e, byId.get(e._id)));
}

export function endpointRoutes(
  temporal: TemporalTarget,
  allowPrivateTargets: boolean,
  kind: EndpointKind = ENDPOINTS,
): Router {
  const router = new Router();
  const EndpointPath = pathOf(kind);
  // Operational endpoints are for the project's key: a consumer's portal session gets 403.
  const access = kind.operational ? [projectKeyOnly] : [];

  router.post(kind.base, ...access, async (ctx) => {
    const body: z.infer<typeof CreateEndpointBody> = parseBody(
      ctx,
      kind.operational ? CreateOperationalEndpointBody : CreateEndpointBody,
    );
    await assertAllowedTargets(body, allowPrivateTargets);
    const { projectId } = auth(ctx);
    // A portal session's endpoints are its consumer's, named or not.
    const consumerId = body.consumer_id
      ? await consumerIdOf(ctx, body.consumer_id, { body: ['consumer_id'] })
      : auth(ctx).consumerId;
    const signing = newSigning(body.signing ?? 'hmac', body.secret);
    const endpoint = await Endpoint.create({
      _id: newId(kind.prefix),
      project_id: projectId,
      consumer_id: consumerId,
      operational: kind.operational,
      url: body.url,
      description: body.description ?? '',
      event_types: body.event_types ?? [],
      channels: body.channels ?? [],
      filter_json: body.filter ? JSON.stringify(body.filter) : null,
      status: body.status ?? 'active',
      headers: body.headers ?? {},
      forward_trace_context: body.forward_trace_context ?? false,
      timeout_ms: body.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      retry: { ...DEFAULT_RETRY, ...body.retry },
      rate_limit_per_s: body.rate_limit_per_s ?? null,
      max_in_flight: body.max_in_flight ?? null,
      circuit_breaker: body.circuit_breaker ?? {},
      metadata: body.metadata ?? {},
      secrets: [signing.stored],
      auth: body.auth ? sealAuth(body.auth) : null,
    });
    ctx.status = 201;
    // An HMAC signing secret is shown here once (and on rotation), never in reads or lists.
    ctx.body = { ...presentEndpoint(endpoint.toObject()), ...signing.shown };
  });

  router.get(kind.base, ...access, async (ctx) => {
    const q: z.infer<typeof ListQuery> = parseQuery(ctx, kind.operational ? OperationalListQuery : ListQuery);
    const { projectId } = auth(ctx);
    const filter = {
      project_id: projectId,
      operational: kind.operational ? true : { $ne: true },
      ...consumerScope(ctx),
      ...(q.status ? { status: q.status } : {}),
      ...(q.consumer_id ? { consumer_id: await consumerIdOf(ctx, q.consumer_id, 'query') } : {}),
    };
    const page = await listPage(Endpoint, filter, q, (e) => e);
    ctx.body = { ...page, data: await presentWithHealth(page.data) };
  });

  router.get(`${kind.base}/:id`, ...access, async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const endpoint = await findInScope(ctx, Endpoint, id);
    if (!endpoint) throw notFound('endpoint');
    ctx.body = presentEndpoint(endpoint, await readHealth(id));
  });

  router.patch(`${kind.base}/:id`, ...access, async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const body: z.infer<typeof UpdateEndpointBody> = parseBody(
      ctx,
      kind.operational ? UpdateOperationalEndpointBody : UpdateEndpointBody,
    );
    await assertAllowedTargets(body, allowPrivateTargets);
    const current = await findInScope(ctx, Endpoint, id);
    if (!current) throw notFound('endpoint');
    const { retry, circuit_breaker, filter, auth: outboundAuth, ...rest } = body;
    const set: Record<string, unknown> = { ...rest };
    if (outboundAuth !== undefined) set.auth = outboundAuth && sealAuth(outboundAuth);
    if (filter !== undefined) set.filter_json = filter === null ? null : JSON.stringify(filter);
    if (retry) set.retry = { ...current.retry, ...retry };
    if (circuit_breaker) set.circuit_breaker = { ...current.circuit_breaker, ...circuit_breaker };
    if (body.status && body.status !== 'disabled') set.disabled_reason = null;
    if (body.status === 'disabled') set.disabled_reason = 'disabled by request';
    const updated = await Endpoint.findOneAndUpdate(
      { _id: id, project_id: auth(ctx).projectId },
      { $set: set },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw notFound('endpoint');
    const health = await readHealth(id);
    // Set active: the deliveries waiting for it go on, and an open breaker closes (it is tried again).
    if (body.status === 'active' && (current.status !== 'active' || (health && health.state !== 'closed')))
      await resumeEndpoint(temporal.client, temporal.taskQueue, id, updated.project_id);
    ctx.body = presentEndpoint(updated, health);
  });

  // A new current secret; the previous ones keep signing (one signature each) until their grace period ends.
  router.post(`${kind.base}/:id/secret/rotate`, ...access, async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const body = parseBody(ctx, RotateSecretBody.default({}));
    const { projectId } = auth(ctx);
    const endpoint = await findInScope(ctx, Endpoint, id);
    if (!endpoint) throw notFound('endpoint');
    const now = new Date();
    const graceEnds = new Date(now.getTime() + (body.grace_period_s ?? DEFAULT_GRACE_PERIOD_S) * 1000);
    const signing = newSigning(body.signing ?? currentSigning(endpoint).signing, body.secret, now);
    const secrets = [
      ...endpoint.secrets
        .filter((s) => s.expires_at === null || s.expires_at > now)
        .map((s) => ({
          ...s,
          expires_at: s.expires_at === null || s.expires_at > graceEnds ? graceEnds : s.expires_at,
        })),
      signing.stored,
    ].slice(-MAX_SECRETS);
    const updated = await Endpoint.findOneAndUpdate(
      { _id: id, project_id: projectId },
      { $set: { secrets } },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw notFound('endpoint');
    ctx.body = { ...presentEndpoint(updated, await readHealth(id)), ...signing.shown };
  });

  if (!kind.operational)
    router.post(`${kind.base}/:id/filter/test`, async (ctx) => {
      const { id } = parsePath(ctx, EndpointPath);
      const body = parseBody(ctx, FilterTestBody);
      const endpoint = await findInScope(ctx, Endpoint, id);
      if (!endpoint) throw notFound('endpoint');
      const filterJson =
        body.filter === undefined
          ? (endpoint.filter_json ?? null)
          : body.filter && JSON.stringify(body.filter);
      const event = { event_type: body.event_type ?? '', payload: body.payload, headers: body.headers ?? {} };
      ctx.body = {
        matches: !filterJson || matchesFilter(filterJson, event),
        filter: filterJson ? JSON.parse(filterJson) : null,
      };
    });

  router.delete(`${kind.base}/:id`, ...access, async (ctx) => {
    const { id } = parsePath(ctx, EndpointPath);
    const deleted = await Endpoint.findOneAndDelete({
      _id: id,
      project_id: auth(ctx).projectId,
      ...consumerScope(ctx),
    }).lean();
    if (!deleted) throw notFound('endpoint');
    // Its waiting deliveries go on now, and end at once: their endpoint is gone.
    await resumeEndpoint(temporal.client, temporal.taskQueue, id, deleted.project_id);
    ctx.status = 204;
  });

  return router;
}

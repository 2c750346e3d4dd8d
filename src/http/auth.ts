import { timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { ApiKeyVerifier } from '../api-keys/model';
import { SESSION_TOKEN_PREFIX, verifyPortalSession } from '../consumers/sessions';
import { ApiError } from './errors';

export interface AuthState {
  projectId: string;
  /** The project API key used; null for a portal session. */
  apiKeyId: string | null;
  /** Set for a portal session: the one consumer the caller acts as. */
  consumerId: string | null;
  /** Set for a portal session. */
  session: { id: string; expiresAt: Date; readOnly: boolean } | null;
}

/** What a read-only portal session may do: read. */
const READS = new Set(['GET', 'HEAD']);

function presentedKey(ctx: Context): string | null {
  const header = ctx.get('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? match[1] : null;
  }
  return ctx.get('x-api-key') || null;
}

function isAdminKey(key: string, adminKey: string): boolean {
  const a = Buffer.from(key);
  const b = Buffer.from(adminKey);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Admin routes: only the admin key (HOOKFLOW_ADMIN_KEY). */
export function requireAdmin(adminKey: string, apiKeys: ApiKeyVerifier) {
  return async function adminOnly(ctx: Context, next: Next) {
    const key = presentedKey(ctx);
    if (!key) throw new ApiError(401, 'missing API key');
    if (!isAdminKey(key, adminKey)) {
      const known = key.startsWith(SESSION_TOKEN_PREFIX)
        ? await verifyPortalSession(key)
        : await apiKeys.verify(key);
      if (known) throw new ApiError(403, 'this route needs the admin key');
      throw new ApiError(401, 'invalid API key');
    }
    return next();
  };
}

/**
 * Project routes: a live API key of the project, or a live portal session of one of its consumers (which
 * the routes then confine to that consumer); sets ctx.state.auth.
 */
export function requireProjectKey(adminKey: string, apiKeys: ApiKeyVerifier) {
  return async function projectCaller(ctx: Context, next: Next) {
    const key = presentedKey(ctx);
    if (!key) throw new ApiError(401, 'missing API key');
    if (key.startsWith(SESSION_TOKEN_PREFIX)) {
      const session = await verifyPortalSession(key);
      if (!session) throw new ApiError(401, 'invalid, expired or revoked portal session');
      const readOnly = session.read_only === true;
      if (readOnly && !READS.has(ctx.method)) throw new ApiError(403, 'this portal session may only read');
      ctx.state.auth = {
        projectId: session.project_id,
        apiKeyId: null,
        consumerId: session.consumer_id,
        session: { id: session._id, expiresAt: session.expires_at, readOnly },
      } satisfies AuthState;
      return next();
    }
    const found = await apiKeys.verify(key);
    if (!found) {
      if (isAdminKey(key, adminKey))
        throw new ApiError(403, 'the admin key only creates projects; use a project API key');
      throw new ApiError(401, 'invalid API key');
    }
    ctx.state.auth = {
      projectId: found.project_id,
      apiKeyId: found._id,
      consumerId: null,
      session: null,
    } satisfies AuthState;
    return next();
  };
}

/**
 * Routes of the project as a whole (keys, consumers, publishing, bulk operations): no portal session. Put on
 * each route, not with `router.use`: the routers are merged into one, where `use` reaches every later route.
 */
export async function projectKeyOnly(ctx: Context, next: Next) {
  if (auth(ctx).consumerId) throw new ApiError(403, 'a portal session cannot use this route');
  return next();
}

export function auth(ctx: Context): AuthState {
  return ctx.state.auth as AuthState;
}

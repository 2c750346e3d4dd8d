import { timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { ApiKeyVerifier } from '../api-keys/model';
import { ApiError } from './errors';

export interface AuthState {
  projectId: string;
  apiKeyId: string;
}

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
      if (await apiKeys.verify(key)) throw new ApiError(403, 'this route needs the admin key');
      throw new ApiError(401, 'invalid API key');
    }
    return next();
  };
}

/** Project routes: a live API key of the project; sets ctx.state.auth. */
export function requireProjectKey(adminKey: string, apiKeys: ApiKeyVerifier) {
  return async function projectOnly(ctx: Context, next: Next) {
    const key = presentedKey(ctx);
    if (!key) throw new ApiError(401, 'missing API key');
    const found = await apiKeys.verify(key);
    if (!found) {
      if (isAdminKey(key, adminKey))
        throw new ApiError(403, 'the admin key only creates projects; use a project API key');
      throw new ApiError(401, 'invalid API key');
    }
    ctx.state.auth = { projectId: found.project_id, apiKeyId: found._id } satisfies AuthState;
    return next();
  };
}

export function auth(ctx: Context): AuthState {
  return ctx.state.auth as AuthState;
}

// The one mapping from errors to HTTP answers: {"detail": "..."} with the right status, or for 422 the list of
// problems the README documents (`detail: [{loc, msg, type}]`).
import { STATUS_CODES } from 'node:http';
import { ServiceError } from '@temporalio/client';
import type { Context, Next } from 'koa';
import { ZodError } from 'zod';
import type { Logger } from '../logger';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export const notFound = (what: string) => new ApiError(404, `${what} not found`);
export const conflict = (detail: string) => new ApiError(409, detail);

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** A ZodError raised while validating one part of the request (body, query, path). */
export class RequestValidationError extends Error {
  constructor(
    readonly location: 'body' | 'query' | 'path' | 'header',
    readonly zodError: ZodError,
  ) {
    super('validation failed');
  }

  issues(): ValidationIssue[] {
    return this.zodError.issues.map((issue) => ({
      loc: [this.location, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
      msg: issue.message,
      type: issue.code,
    }));
  }
}

/** A 422 about one field, for checks a schema cannot make (a lookup, DNS). */
export function fieldError(
  location: RequestValidationError['location'],
  path: (string | number)[],
  message: string,
) {
  return new RequestValidationError(
    location,
    new ZodError([{ code: 'custom', path, message, input: undefined }]),
  );
}

/** MongoDB or Temporal out of reach, as opposed to a bug. */
function isUnavailable(err: unknown): boolean {
  if (err instanceof ServiceError) return true;
  const { name = '', message = '' } = err as { name?: string; message?: string };
  return (
    /^Mongo(ose)?(ServerSelection|Network|NetworkTimeout|NotConnected|PoolCleared)Error$/.test(name) ||
    /buffering timed out/.test(message)
  );
}

export function errorMiddleware(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next) {
    try {
      await next();
      // Answers made outside our routes (no route: 404, wrong method: 405) get the same JSON shape.
      if (
        ctx.status >= 400 &&
        (ctx.body === undefined || ctx.body === null || typeof ctx.body === 'string')
      ) {
        const status = ctx.status;
        ctx.body = { detail: (STATUS_CODES[status] ?? 'error').toLowerCase() };
        ctx.status = status;
      }
    } catch (err) {
      if (err instanceof ApiError) {
        ctx.status = err.status;
        ctx.body = { detail: err.detail };
      } else if (err instanceof RequestValidationError) {
        ctx.status = 422;
        ctx.body = { detail: err.issues() };
      } else if (err instanceof ZodError) {
        ctx.status = 422;
        ctx.body = { detail: new RequestValidationError('body', err).issues() };
      } else if (isUnavailable(err)) {
        // Nothing was accepted: the client may retry (with its idempotency key, for a publish).
        logger.warn({ err, method: ctx.method, path: ctx.path }, 'dependency unavailable');
        ctx.status = 503;
        ctx.set('retry-after', '1');
        ctx.body = { detail: 'a backing service (MongoDB or Temporal) is unavailable; retry shortly' };
      } else {
        logger.error({ err, method: ctx.method, path: ctx.path }, 'unhandled error');
        ctx.status = 500;
        ctx.body = { detail: 'internal server error' };
      }
    }
  };
}

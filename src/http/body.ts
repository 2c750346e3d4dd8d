import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';
import { ApiError } from './errors';

const MAX_DEPTH = 32;
/** Values in one body at most: a wide body is as much a problem as a deep one. */
const MAX_VALUES = 100_000;

/**
 * Reads a JSON body into ctx.request.body for methods that carry one. 415 for another content type, 413 past
 * the size limit, 400 for malformed JSON or nesting deeper than MAX_DEPTH.
 */
export function jsonBody(maxBytes: number) {
  return async function readJsonBody(ctx: Context, next: Next) {
    if (!['POST', 'PUT', 'PATCH'].includes(ctx.method)) return next();
    const length = Number(ctx.get('content-length') || 0);
    const chunked = ctx.get('transfer-encoding') !== '';
    if (length === 0 && !chunked) {
      (ctx.request as { body?: unknown }).body = undefined;
      return next();
    }
    if (!ctx.is('application/json', 'application/*+json')) {
      throw new ApiError(415, 'request body must be application/json');
    }
    let raw: string;
    try {
      raw = await getRawBody(ctx.req, { limit: maxBytes, encoding: 'utf8', length: length || undefined });
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') throw new ApiError(413, `request body larger than ${maxBytes} bytes`);
      throw new ApiError(400, 'could not read the request body');
    }
    let parsed: unknown;
    try {
      parsed = raw.trim() === '' ? undefined : JSON.parse(raw);
    } catch {
      throw new ApiError(400, 'request body is not valid JSON');
    }
    const shape = measure(parsed);
    if (shape.depth > MAX_DEPTH)
      throw new ApiError(400, `request body nests deeper than ${MAX_DEPTH} levels`);
    if (shape.values > MAX_VALUES)
      throw new ApiError(400, `request body holds more than ${MAX_VALUES} values`);
    (ctx.request as { body?: unknown }).body = parsed;
    return next();
  };
}

/** Nesting depth and number of values, stopping as soon as either limit is passed. */
export function measure(
  value: unknown,
  maxDepth = MAX_DEPTH,
  maxValues = MAX_VALUES,
): { depth: number; values: number } {
  let depth = 0;
  let values = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    values++;
    if (d > depth) depth = d;
    if (depth > maxDepth || values > maxValues) break;
    if (v !== null && typeof v === 'object') {
      for (const child of Object.values(v)) stack.push([child, d + 1]);
    }
  }
  return { depth, values };
}

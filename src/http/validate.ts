import type { Context } from 'koa';
import { z } from 'zod';
import { ID_PATTERN } from '../ids';
import { RequestValidationError } from './errors';

type Location = 'body' | 'query' | 'path';

function parse<T extends z.ZodType>(location: Location, schema: T, data: unknown): z.infer<T> {
  const result = schema.safeParse(data);
  if (!result.success) throw new RequestValidationError(location, result.error);
  return result.data;
}

export const parseBody = <T extends z.ZodType>(ctx: Context, schema: T) =>
  parse('body', schema, (ctx.request as { body?: unknown }).body);
export const parseQuery = <T extends z.ZodType>(ctx: Context, schema: T) => parse('query', schema, ctx.query);
export const parsePath = <T extends z.ZodType>(ctx: Context, schema: T) =>
  parse('path', schema, (ctx as Context & { params: unknown }).params);

/** An id of the given kind, e.g. `ep_...`. */
export function resourceId(prefix: string) {
  return z
    .string()
    .regex(ID_PATTERN, 'malformed id')
    .refine((id) => id.startsWith(`${prefix}_`), `expected an id starting with ${prefix}_`);
}

/** An RFC 3339 timestamp, as a Date. */
export const timestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** Free-form string metadata the caller keeps on an object. */
export const metadataMap = z
  .record(z.string().max(64), z.string().max(1024))
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys');

/** Custom HTTP headers: token names, printable values, bounded. */
export const headerMap = z
  .record(
    z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'invalid header name'),
    z
      .string()
      .max(1024)
      .regex(/^[\t\x20-\x7e]*$/, 'invalid header value'),
  )
  .refine((h) => Object.keys(h).length <= 20, 'at most 20 headers');

import type { Model, QueryFilter } from 'mongoose';
import { z } from 'zod';
import { ID_PATTERN, type IdPrefix, idTimeRange } from '../ids';

/** `limit` and `cursor` of every list: ids sort by creation time, lists go newest first. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().regex(ID_PATTERN, 'malformed cursor').optional(),
};

/** The answer of a list route: one page of `item` (newest first, but for the catalogue's names). */
export function pageOf(item: z.ZodType, id: string) {
  return z
    .strictObject({
      data: z.array(item),
      next_cursor: z
        .string()
        .nullable()
        .meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    })
    .meta({ id });
}

/** One page of `model` matching `filter`, newest first, as `{data, next_cursor}`. */
export async function listPage<D extends { _id: string }, T>(
  model: Model<D>,
  filter: QueryFilter<D>,
  query: { limit: number; cursor?: string },
  present: (d: D) => T,
) {
  const withCursor = (
    query.cursor ? { $and: [filter, { _id: { $lt: query.cursor } }] } : filter
  ) as QueryFilter<D>;
  // One more than asked for: it only tells whether there is a next page.
  const docs = (await model
    .find(withCursor)
    .sort({ _id: -1 })
    .limit(query.limit + 1)
    .lean()) as D[];
  return pageAnswer(docs, query.limit, present);
}

/**
 * The answer for up to `limit + 1` documents in the list's order: the one past `limit` says there is a next
 * page, which starts after the last shown (`cursorOf` it: its `_id` unless the list goes by something else).
 */
export function pageAnswer<D extends { _id: string }, T>(
  docs: D[],
  limit: number,
  present: (d: D) => T,
  cursorOf: (d: D) => string = (d) => d._id,
) {
  const more = docs.length > limit;
  const shown = more ? docs.slice(0, limit) : docs;
  return { data: shown.map(present), next_cursor: more ? cursorOf(shown[shown.length - 1]) : null };
}

/**
 * `since` inclusive, `until` exclusive, on the time in the object's id: when it was created, or, for a
 * delivery a publish or bulk operation made, when that event or operation was accepted.
 */
export function createdBetween(prefix: IdPrefix, since: Date | undefined, until: Date | undefined) {
  return since || until ? { _id: idTimeRange(prefix, since, until) } : {};
}

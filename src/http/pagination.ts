import { z } from 'zod';

/** `limit` and `cursor` of every list: ids sort by creation time, lists go newest first. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z
    .string()
    .regex(/^[a-z]{2,3}_[0-9a-z]{20}$/, 'malformed cursor')
    .optional(),
};

export function cursorFilter(cursor: string | undefined) {
  return cursor ? { _id: { $lt: cursor } } : {};
}

/** `docs` fetched with limit + 1: the extra one only tells whether there is a next page. */
export function page<D extends { _id: string }, T>(docs: D[], limit: number, present: (d: D) => T) {
  const more = docs.length > limit;
  const shown = more ? docs.slice(0, limit) : docs;
  return { data: shown.map(present), next_cursor: more ? shown[shown.length - 1]._id : null };
}

/** `since` inclusive, `until` exclusive, on created_at. */
export function createdBetween(since: Date | undefined, until: Date | undefined) {
  if (!since && !until) return {};
  return { created_at: { ...(since ? { $gte: since } : {}), ...(until ? { $lt: until } : {}) } };
}

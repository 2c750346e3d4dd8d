import { createHash, randomBytes } from 'node:crypto';

// Crockford base32: ids sort by creation time (the first 10 characters are the millisecond clock), which is
// what cursor pagination orders by.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'prj' | 'key' | 'con' | 'ps' | 'ep' | 'oep' | 'evt' | 'dlv' | 'att' | 'op' | 'rpl';

function encodeTime(ms: number): string {
  let time = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < 10; i++) out += ALPHABET[bytes[i] % 32];
  return out;
}

/**
 * The `_id` range of the objects with `prefix` whose id time is in [since, until): ids sort by it, so a list
 * filtered by time reads one stretch of an index ending in `_id`.
 */
export function idTimeRange(prefix: IdPrefix, since: Date | undefined, until: Date | undefined) {
  return {
    ...(since ? { $gte: `${prefix}_${encodeTime(since.getTime())}` } : {}),
    ...(until ? { $lt: `${prefix}_${encodeTime(until.getTime())}` } : {}),
  };
}

/** The creation time an id carries (its first 10 characters after the prefix). */
export function idTime(id: string): Date {
  const time = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11);
  let ms = 0;
  for (const c of time) ms = ms * 32 + ALPHABET.indexOf(c);
  return new Date(ms);
}

export function newId(prefix: IdPrefix, now = Date.now()): string {
  return `${prefix}_${encodeTime(now)}${encodeBytes(randomBytes(10))}`;
}

/**
 * An id that is the same every time for the same `parts`, sorting with the object `timeOf` names. Used where
 * a repeated write must land on the same document, found by `_id`: the one key FerretDB serves from an index
 * (it scans the collection for a filter without it).
 */
function derivedId(prefix: IdPrefix, timeOf: string, ...parts: (string | number)[]): string {
  const time = timeOf.slice(timeOf.indexOf('_') + 1, timeOf.indexOf('_') + 11);
  const digest = createHash('sha256').update(parts.join('\0')).digest();
  return `${prefix}_${time}${encodeBytes(digest)}`;
}

/** The ids hookflow derives, so that a repeated publish, bulk page or attempt record writes the same document. */
export const derivedIds = {
  /** The delivery of a published event to one of its recipients. */
  initialDelivery: (eventId: string, endpointId: string) => derivedId('dlv', eventId, eventId, endpointId),
  /** The delivery a bulk replay makes of one original delivery. */
  bulkReplayDelivery: (operationId: string, originalId: string) =>
    derivedId('dlv', operationId, operationId, originalId),
  /** The delivery a large event replay (`rpl_…`, one per request) makes to one endpoint. */
  eventReplayDelivery: (replayId: string, endpointId: string) =>
    derivedId('dlv', replayId, replayId, endpointId),
  /** Attempt number `attempt` of a delivery. */
  attempt: (deliveryId: string, attempt: number) => derivedId('att', deliveryId, deliveryId, attempt),
};

export const ID_PATTERN = /^[a-z]{2,3}_[0-9a-z]{20}$/;

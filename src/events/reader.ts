// A worker's reads of the events it sends. An event does not change once stored, but for an expunged payload
// (whose deliveries are cancelled then) and retention (which deletes only events no delivery still needs), so
// the worker keeps those it read recently: the deliveries of one event (one per endpoint, started together)
// read it from MongoDB once, and reads of an event already under way share that round trip.
import { LRUCache } from 'lru-cache';
import { Event, type EventDoc } from './model';

/**
 * Room for the events kept (payloads counted at 2 bytes a character). The deliveries of one event start
 * within moments of each other, so a small cache covers them; memory stays bounded at any publish rate.
 */
const CACHE_BYTES = 8 * 1024 * 1024;

export type ReadEvent = (eventId: string, projectId: string) => Promise<EventDoc | null>;

export function createEventReader(maxBytes = CACHE_BYTES): ReadEvent {
  const events = new LRUCache<string, EventDoc>({
    maxSize: maxBytes,
    sizeCalculation: (event) => 2 * (event.payload_json?.length ?? 0) + 1024,
    // A missing event is not kept: undefined is never cached.
    fetchMethod: async (eventId) =>
      ((await Event.collection.findOne({ _id: eventId as never })) as EventDoc | null) ?? undefined,
  });
  return async (eventId, projectId) => {
    const event = await events.fetch(eventId);
    // Another project's event is as good as missing.
    return event && event.project_id === projectId ? event : null;
  };
}

// Who gets an event, as far as the endpoint's own settings say: its event types (exact names, `prefix.*`
// patterns, or `*`), its channels and its payload filter. Publish and event replay apply it to the candidates
// they read.
import { matchesFilter } from './filter';

/** `order.*` matches every type below `order.` (one segment or more: order.paid, order.item.added). */
export function matchesEventType(pattern: string, eventType: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*'))
    return eventType.startsWith(pattern.slice(0, -1)) && eventType.length > pattern.length - 1;
  return pattern === eventType;
}

export function isEventTypePattern(pattern: string): boolean {
  return pattern === '*' || pattern.endsWith('.*');
}

export interface Subscription {
  event_types: string[];
  /** Only events on at least one of these; none: channels do not matter (Svix's semantics). */
  channels?: string[] | null;
  filter_json?: string | null;
}

/** What a filter looks at, made only when a candidate has a filter (it parses the payload). */
export type FilterTarget = () => { event_type: string; payload: unknown; headers: Record<string, string> };

export function subscribes(
  endpoint: Subscription,
  event: { event_type: string; channels?: string[] | null },
  target?: FilterTarget,
): boolean {
  const typed =
    endpoint.event_types.length === 0 ||
    endpoint.event_types.some((p) => matchesEventType(p, event.event_type));
  if (!typed) return false;
  if (endpoint.channels?.length && !(event.channels ?? []).some((c) => endpoint.channels?.includes(c)))
    return false;
  return !endpoint.filter_json || !target || matchesFilter(endpoint.filter_json, target());
}

/** An event type that `endpoint` receives, for a test event: its first exact one, else one its patterns take. */
export function sampleEventType(endpoint: Subscription): string {
  const exact = endpoint.event_types.find((t) => !isEventTypePattern(t));
  if (exact) return exact;
  const pattern = endpoint.event_types.find((t) => t !== '*');
  return pattern ? `${pattern.slice(0, -2)}.test` : 'hookflow.test';
}

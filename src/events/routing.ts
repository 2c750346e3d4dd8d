// Who gets an event, as far as the endpoint's own settings say: its event types (exact names, `prefix.*`
// patterns, or `*`) and its channels. Pure: publish and event replay apply it to the candidates they read.

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
}

export function subscribes(
  endpoint: Subscription,
  event: { event_type: string; channels?: string[] | null },
): boolean {
  const typed =
    endpoint.event_types.length === 0 ||
    endpoint.event_types.some((p) => matchesEventType(p, event.event_type));
  if (!typed) return false;
  if (!endpoint.channels?.length) return true;
  return (event.channels ?? []).some((c) => endpoint.channels?.includes(c));
}

/** An event type that `endpoint` receives, for a test event: its first exact one, else one its patterns take. */
export function sampleEventType(endpoint: Subscription): string {
  const exact = endpoint.event_types.find((t) => !isEventTypePattern(t));
  if (exact) return exact;
  const pattern = endpoint.event_types.find((t) => t !== '*');
  return pattern ? `${pattern.slice(0, -2)}.test` : 'hookflow.test';
}

// What the fan-out workflow and the API agree on. Imported by workflow code: no I/O.

export interface FanOutInput {
  eventId: string;
  pages: number;
  /** The next page to start. */
  page: number;
  /** For an event replay, its id (`rpl_…`): the pages' key and where its deliveries' ids derive from. */
  replayId?: string;
}

/** What one page activity is told: the event, the page, and the replay it belongs to, if it does. */
export type FanOutPageRef = Pick<FanOutInput, 'eventId' | 'page' | 'replayId'>;

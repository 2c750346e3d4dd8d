// What the fan-out workflow and the API agree on. Imported by workflow code: no I/O.

export interface FanOutInput {
  eventId: string;
  pages: number;
  /** The next page to start. */
  page: number;
}

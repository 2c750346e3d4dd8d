// What the bulk replay workflow and its activities agree on. Imported by workflow code: no I/O.

export interface BulkProgress {
  /** The next page to replay. */
  page: number;
  done: number;
  replayed: number;
  skipped: number;
  failed: number;
}

export interface BulkReplayInput {
  operationId: string;
  progress: BulkProgress;
  /** Pages the operation was cut into, once its first run has planned them. */
  pages: number | null;
}

/** Pages per workflow run before continuing as new, which keeps each run's history short. */
export const PAGES_PER_RUN = 20;

// What the bulk replay workflow and its activities agree on. Imported by workflow code: no I/O.

export interface BulkProgress {
  /** Last delivery id processed: the next page starts after it. */
  afterId: string;
  done: number;
  replayed: number;
  skipped: number;
  failed: number;
}

export interface BulkReplayInput {
  operationId: string;
  progress: BulkProgress;
  /** Set once the total has been counted (the first run of the workflow counts it). */
  counted: boolean;
}

export interface ReplayPageResult {
  progress: BulkProgress;
  /** No deliveries are left after this page. */
  exhausted: boolean;
}

/** Pages per workflow run before continuing as new, which keeps each run's history short. */
export const PAGES_PER_RUN = 20;

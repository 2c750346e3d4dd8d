// What the retention workflow and its activity exchange (no runtime imports: the workflow bundle takes it).

/** Where a retention pass is: a project, the phase of its clean-up, and the last id done in that phase. */
export interface RetentionCursor {
  /** null: the first project. */
  projectId: string | null;
  phase: 'deliveries' | 'events' | 'statistics' | 'operations' | 'orphans';
  after: string | null;
}

export interface RetentionCounts {
  deliveries: number;
  attempts: number;
  events: number;
  /** Hourly statistics documents of hours past the retention. */
  statistics: number;
  /** Bulk operations (replays, recoveries) that ended, begun before the retention. */
  operations: number;
  /** Pending views of a publish that died before starting their workflows, given one now. */
  orphans: number;
}

export const NO_RETENTION_COUNTS: RetentionCounts = {
  deliveries: 0,
  attempts: 0,
  events: 0,
  statistics: 0,
  operations: 0,
  orphans: 0,
};

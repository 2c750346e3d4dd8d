// What a project's retention_days keeps. Deliveries go once they are older than it; events a day later, and
// replays of an event older than it are refused: so a replay never starts from an event that retention is
// about to delete under it (its delivery would find no event).
import { DEFAULT_RETENTION_DAYS, Project } from '../projects/model';

const DAY_MS = 24 * 3_600_000;

/** Finished deliveries made before this are deleted; events made before it can no longer be replayed. */
export function deliveriesCutoff(retentionDays: number, now = Date.now()): Date {
  return new Date(now - retentionDays * DAY_MS);
}

/** Events made before this are deleted (when no delivery refers to them any more). */
export function eventsCutoff(retentionDays: number, now = Date.now()): Date {
  return new Date(now - (retentionDays + 1) * DAY_MS);
}

export async function retentionDaysOf(projectId: string): Promise<number> {
  const project = await Project.collection.findOne(
    { _id: projectId as never },
    { projection: { retention_days: 1 } },
  );
  return project?.retention_days ?? DEFAULT_RETENTION_DAYS;
}

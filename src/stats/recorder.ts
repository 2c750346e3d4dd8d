// Counts attempts and final statuses into this process's statistics documents as they happen. A caller's
// promise resolves once a write holding its count is stored: an activity does not complete before its
// figures are safe. One write at a time, of every document changed since the last (one round trip for an
// attempt's endpoint and project counts and its final status together); counts that arrive meanwhile go in
// the next one.
import { randomUUID } from 'node:crypto';
import type { FinalStatus } from '../deliveries/status';
import { isOperationalEndpoint } from '../delivery-contract';
import { HOUR_MS, StatsBucket, type StatsBucketDoc } from './model';
import { addTo } from './sketch';

interface Pending {
  doc: StatsBucketDoc;
  /** Resolvers of the counts not yet in a finished write. */
  waiting: { resolve: () => void; reject: (err: unknown) => void }[];
  writing: boolean;
}

export class StatsRecorder {
  private readonly writer = randomUUID().slice(0, 8);
  private readonly docs = new Map<string, Pending>();
  /** Documents with counts not yet in a write. */
  private readonly dirty = new Set<Pending>();
  private flushing = false;

  recordAttempt(
    where: { projectId: string; endpointId: string },
    ok: boolean,
    durationMs: number,
    at = new Date(),
  ): Promise<void> {
    return this.count(where, at, (doc) => {
      doc.attempts[ok ? 'succeeded' : 'failed']++;
      addTo(doc.durations, durationMs);
    });
  }

  recordFinal(where: { projectId: string; endpointId: string }, status: FinalStatus, at = new Date()) {
    return this.count(where, at, (doc) => {
      doc.deliveries[status]++;
    });
  }

  private count(
    where: { projectId: string; endpointId: string },
    at: Date,
    change: (doc: StatsBucketDoc) => void,
  ): Promise<void> {
    // Operational endpoints' deliveries are hookflow's own, not the project's traffic: not counted.
    if (isOperationalEndpoint(where.endpointId)) return Promise.resolve();
    const hour = new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
    return Promise.all(
      [where.endpointId, where.projectId].map((scope) => {
        const pending = this.pendingFor(scope, where.projectId, hour);
        change(pending.doc);
        return new Promise<void>((resolve, reject) => {
          pending.waiting.push({ resolve, reject });
          this.dirty.add(pending);
          this.flush();
        });
      }),
    ).then(() => {});
  }

  private pendingFor(scope: string, projectId: string, hour: Date): Pending {
    const id = `${scope}:${hour.toISOString()}:${this.writer}`;
    let pending = this.docs.get(id);
    if (!pending) {
      // Counts are taken at the current time: documents of past hours are complete and can go.
      for (const [key, p] of this.docs)
        if (p.doc.hour < hour && !p.writing && p.waiting.length === 0) this.docs.delete(key);
      pending = {
        doc: {
          _id: id,
          scope,
          project_id: projectId,
          hour,
          writer: this.writer,
          deliveries: { succeeded: 0, failed: 0, cancelled: 0 },
          attempts: { succeeded: 0, failed: 0 },
          durations: {},
        },
        waiting: [],
        writing: false,
      };
      this.docs.set(id, pending);
    }
    return pending;
  }

  private flush(): void {
    if (this.flushing || this.dirty.size === 0) return;
    this.flushing = true;
    // After the caller's other counts of this moment (a final status after its attempt's).
    queueMicrotask(() => {
      const batch = [...this.dirty];
      this.dirty.clear();
      const waiting = batch.flatMap((pending) => pending.waiting.splice(0));
      for (const pending of batch) pending.writing = true;
      StatsBucket.collection
        .bulkWrite(
          batch.map(({ doc }) => ({
            replaceOne: {
              filter: { _id: doc._id } as never,
              replacement: structuredClone(doc),
              upsert: true,
            },
          })),
          { ordered: false },
        )
        .then(
          () => {
            for (const w of waiting) w.resolve();
          },
          (err) => {
            for (const w of waiting) w.reject(err);
          },
        )
        .finally(() => {
          for (const pending of batch) pending.writing = false;
          this.flushing = false;
          this.flush();
        });
    });
  }
}

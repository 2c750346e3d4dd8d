// Delivery statistics, one document per (scope, hour, writing process): a scope is an endpoint or a project.
// Each process writes only its own documents, whole, so counts never race across writers (the embedded store
// has no atomic increment across them); a read adds up the writers of each hour.
import { model, Schema } from 'mongoose';
import type { Sketch } from './sketch';

export const HOUR_MS = 3_600_000;

export interface StatsBucketDoc {
  _id: string;
  /** An endpoint id or a project id. */
  scope: string;
  project_id: string;
  hour: Date;
  writer: string;
  deliveries: { succeeded: number; failed: number; cancelled: number };
  attempts: { succeeded: number; failed: number };
  durations: Sketch;
}

const schema = new Schema<StatsBucketDoc>(
  {
    _id: String,
    scope: String,
    project_id: String,
    hour: Date,
    writer: String,
    deliveries: { type: Schema.Types.Mixed },
    attempts: { type: Schema.Types.Mixed },
    durations: { type: Schema.Types.Mixed },
  },
  { versionKey: false, minimize: false },
);
schema.index({ scope: 1, hour: 1 });
// Retention deletes a project's hours past its retention (src/retention/expire.ts).
schema.index({ project_id: 1, hour: 1 });

export const StatsBucket = model<StatsBucketDoc>('StatsBucket', schema, 'delivery_stats');

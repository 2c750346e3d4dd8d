import { model, Schema } from 'mongoose';
import { z } from 'zod';

/** Svix keeps 90 days on its paid plans, Convoy 30 by default; 30 keeps a self-hosted store small. */
export const DEFAULT_RETENTION_DAYS = 30;

export interface ProjectDoc {
  _id: string;
  name: string;
  /** Publishes of event types not in the catalogue are refused (422). */
  strict_event_types: boolean;
  /** Deliveries, attempts and events older than this many days are deleted (src/retention). */
  retention_days: number;
  created_at: Date;
  updated_at: Date;
}

const schema = new Schema<ProjectDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    strict_event_types: { type: Boolean, default: false },
    retention_days: { type: Number, default: DEFAULT_RETENTION_DAYS },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);

export const Project = model<ProjectDoc>('Project', schema, 'projects');

export const ProjectResource = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    strict_event_types: z
      .boolean()
      .meta({ description: 'Publishes of types not in the event-type catalogue are refused.' }),
    retention_days: z.number().meta({
      description: 'Deliveries, their attempts and events older than this are deleted (hourly, in pages).',
    }),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Project' });

export function presentProject(p: ProjectDoc): z.output<typeof ProjectResource> {
  return {
    id: p._id,
    name: p.name,
    strict_event_types: p.strict_event_types ?? false,
    retention_days: p.retention_days ?? DEFAULT_RETENTION_DAYS,
    created_at: p.created_at,
    updated_at: p.updated_at,
  };
}

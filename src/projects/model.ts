import { model, Schema } from 'mongoose';
import { z } from 'zod';

export interface ProjectDoc {
  _id: string;
  name: string;
  /** Publishes of event types not in the catalogue are refused (422). */
  strict_event_types: boolean;
  created_at: Date;
  updated_at: Date;
}

const schema = new Schema<ProjectDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    strict_event_types: { type: Boolean, default: false },
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
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Project' });

export function presentProject(p: ProjectDoc): z.output<typeof ProjectResource> {
  return {
    id: p._id,
    name: p.name,
    strict_event_types: p.strict_event_types ?? false,
    created_at: p.created_at,
    updated_at: p.updated_at,
  };
}

import { model, Schema } from 'mongoose';
import { z } from 'zod';

export interface ProjectDoc {
  _id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

const schema = new Schema<ProjectDoc>(
  { _id: { type: String, required: true }, name: { type: String, required: true } },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);

export const Project = model<ProjectDoc>('Project', schema, 'projects');

export const ProjectResource = z
  .strictObject({ id: z.string(), name: z.string(), created_at: z.date(), updated_at: z.date() })
  .meta({ id: 'Project' });

export function presentProject(p: ProjectDoc): z.output<typeof ProjectResource> {
  return { id: p._id, name: p.name, created_at: p.created_at, updated_at: p.updated_at };
}

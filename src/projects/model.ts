import { model, Schema } from 'mongoose';

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

export function presentProject(p: ProjectDoc) {
  return { id: p._id, name: p.name, created_at: p.created_at, updated_at: p.updated_at };
}

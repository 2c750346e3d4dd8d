// The event-type catalogue of a project: names, descriptions, a JSON Schema (2020-12) for the payload and
// examples. `_id` is `<project id>:<name>`, so a publish finds its type by `_id` (the one key the embedded
// FerretDB serves from an index).
import { model, Schema } from 'mongoose';
import { z } from 'zod';

export interface EventTypeDoc {
  _id: string;
  project_id: string;
  name: string;
  description: string;
  /** The payload's JSON Schema, stored as JSON text (its keys may start with `$`); null: any payload. */
  schema_json: string | null;
  examples_json: string;
  archived: boolean;
  /** Bumped whenever the schema changes: compiled validators are cached per version. */
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const eventTypeId = (projectId: string, name: string) => `${projectId}:${name}`;

const schema = new Schema<EventTypeDoc>(
  {
    _id: { type: String, required: true },
    project_id: { type: String, required: true, index: true },
    name: { type: String, required: true },
    description: { type: String, default: '' },
    schema_json: { type: String, default: null },
    examples_json: { type: String, default: '[]' },
    archived: { type: Boolean, default: false },
    version: { type: Number, default: 1 },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);

export const EventType = model<EventTypeDoc>('EventType', schema, 'event_types');

export const EventTypeResource = z
  .strictObject({
    name: z.string().meta({ example: 'order.paid' }),
    description: z.string(),
    schema: z.json().nullable().meta({ description: 'JSON Schema (2020-12) of the payload; null: any.' }),
    examples: z.array(z.json()),
    archived: z.boolean(),
    version: z.number().meta({ description: 'Goes up by one each time the schema changes.' }),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'EventType' });

export function presentEventType(t: EventTypeDoc): z.output<typeof EventTypeResource> {
  return {
    name: t.name,
    description: t.description,
    schema: t.schema_json === null ? null : JSON.parse(t.schema_json),
    examples: JSON.parse(t.examples_json),
    archived: t.archived,
    version: t.version,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

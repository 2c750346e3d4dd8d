// The embedded FerretDB pushes conditions down only on indexed fields, and reads a scalar condition as SQL
// equality on the field's value (tools/ferretdb/patch.mjs): right only if the field never holds an array, where
// MongoDB would match any element. Every index of every model is checked to be on scalar fields.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import mongoose from 'mongoose';

const SRC = join(__dirname, '..', '..', 'src');

describe('model indexes', () => {
  it('are all on fields that never hold an array', async () => {
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && readFileSync(join(SRC, f), 'utf8').includes('model<'),
    );
    for (const file of files) await import(join(SRC, file));
    const models = Object.values(mongoose.models);
    assert.ok(models.length >= 15, `only ${models.length} models found`);

    const offending: string[] = [];
    let indexed = 0;
    for (const model of models) {
      for (const [keys] of model.schema.indexes()) {
        for (const field of Object.keys(keys)) {
          indexed++;
          const type = model.schema.path(field)?.instance;
          if (
            type !== 'String' &&
            type !== 'Number' &&
            type !== 'Date' &&
            type !== 'Boolean' &&
            type !== 'ObjectId'
          )
            offending.push(`${model.modelName}.${field}: ${type}`);
        }
      }
    }
    assert.ok(indexed >= 30, `only ${indexed} indexed fields found`);
    assert.deepEqual(offending, []);
  });
});

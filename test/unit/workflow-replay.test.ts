// Replays recorded histories (test/histories/<folder>/, written by test/record-histories.ts) against the
// current workflow code: a change that would break running deliveries fails here with a nondeterminism error.
// Once a folder is recorded it stays: workflows started by that code may still be running.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

const dir = join(__dirname, '..', 'histories');

describe('delivery workflow replay', () => {
  it('replays every recorded history without nondeterminism', async () => {
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 10, 'every scenario of the baseline is recorded');
    const histories = files.map((file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8'))),
    }));
    const results = Worker.runReplayHistories(
      { workflowsPath: require.resolve('../../workflows'), replayName: 'hookflow' },
      histories,
    );
    let replayed = 0;
    for await (const result of results) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
      replayed++;
    }
    assert.equal(replayed, files.length);
  });
});

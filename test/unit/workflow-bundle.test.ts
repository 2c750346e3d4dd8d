// The workflow code is bundled into every workflow's sandbox: what it imports must stay small and free of
// I/O libraries (a zod import once crept in through a settings file and nearly doubled the worker's memory).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';

describe('workflow bundle', () => {
  it('holds no validation, database or HTTP library', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    for (const library of [
      'node_modules/zod/',
      'node_modules/mongoose/',
      'node_modules/mongodb/',
      'node_modules/undici/',
    ])
      assert.ok(!code.includes(library), `${library} is in the workflow bundle`);
  });
});

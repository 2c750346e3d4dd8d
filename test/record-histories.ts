// Records real delivery workflow histories into test/histories/ for the replay test, which proves that
// workflow code changes stay compatible with workflows already running. Run after a deliberate, versioned
// workflow change only: `node --import tsx test/record-histories.ts`.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Receiver, status } from './helpers/receiver';
import { eventually, startStack } from './helpers/stack';

const RETRY = { max_attempts: 4, initial_interval_ms: 200, backoff_coefficient: 2, max_interval_ms: 1000 };

async function main() {
  const [stack, receiver] = await Promise.all([startStack(), new Receiver().start()]);
  try {
    const { key } = await stack.newProject('histories');
    const scenarios: Record<string, Parameters<Receiver['script']>[1][]> = {
      succeeded: [status(200)],
      'retried-then-succeeded': [status(500), status(503), status(200)],
      'failed-400': [status(400)],
      'failed-exhausted': [status(500)],
      gone: [status(410)],
    };
    for (const [name, responders] of Object.entries(scenarios)) {
      const url = receiver.script(`/${name}`, ...responders);
      await stack.request('POST', '/v1/endpoints', { key, body: { url, event_types: [name], retry: RETRY } });
      const event = await stack.request('POST', '/v1/events', {
        key,
        body: { event_type: name, payload: { name } },
      });
      const handle = stack.client.workflow.getHandle(event.body.deliveries[0].workflow_id);
      await eventually(
        () => handle.describe(),
        (d) => d.status.name !== 'RUNNING',
      );
      // The CLI's JSON is the format historyFromJSON reads (and what an operator would export by hand).
      const json = execFileSync(stack.temporalBinary, [
        'workflow',
        'show',
        '--address',
        stack.temporalAddress,
        '--workflow-id',
        handle.workflowId,
        '--output',
        'json',
      ]);
      writeFileSync(join(__dirname, 'histories', `${name}.json`), json);
      process.stdout.write(`recorded ${name}: ${JSON.parse(json.toString()).events.length} events\n`);
    }
  } finally {
    await Promise.all([stack.stop(), receiver.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

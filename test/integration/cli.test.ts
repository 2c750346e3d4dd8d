// Runs the README's "Operating with the temporal CLI" commands, exactly as written there, through the real
// `temporal` binary, and checks that each has its documented effect on deliveries and their views.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Receiver, status } from '../helpers/receiver';
import { eventually, type Stack, startStack } from '../helpers/stack';

const HOUR = 3_600_000;

interface DeliveryJson {
  id: string;
  workflow_id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
}
const HOUR_BACKOFF = {
  max_attempts: 5,
  initial_interval_ms: HOUR,
  backoff_coefficient: 1,
  max_interval_ms: HOUR,
};

/** `# cli:<name>` comment lines in the README's CLI section, each followed by one command. */
function readmeCommands(): Map<string, string> {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Operating with the temporal CLI'));
  const commands = new Map<string, string>();
  const lines = section.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^# cli:([a-z-]+)/.exec(lines[i]);
    if (match) commands.set(match[1], lines[i + 1]);
  }
  return commands;
}

describe('operating with the temporal CLI (README commands)', () => {
  let stack: Stack;
  let receiver: Receiver;
  let key: string;
  const commands = readmeCommands();

  before(async () => {
    [stack, receiver] = await Promise.all([startStack(), new Receiver().start()]);
    ({ key } = await stack.newProject('cli'));
  });
  after(async () => {
    await Promise.all([stack?.stop(), receiver?.stop()]);
  });

  const api = (method: string, path: string, body?: unknown) => stack.request(method, path, { key, body });
  const views = (endpointId: string) =>
    api('GET', `/v1/deliveries?endpoint_id=${endpointId}`).then((r) => r.body.data as DeliveryJson[]);

  async function run(name: string, endpointId: string): Promise<string> {
    const command = commands.get(name);
    assert.ok(command, `README documents cli:${name}`);
    const { stdout } = await promisify(execFile)('bash', ['-c', command], {
      env: {
        ...process.env,
        PATH: `${dirname(stack.temporalBinary)}:${process.env.PATH}`,
        TEMPORAL_ADDRESS: stack.temporalAddress,
        ENDPOINT_ID: endpointId,
      },
    });
    return stdout;
  }

  /** An endpoint at `path` with `count` deliveries in it, each answered by `responder` at first. */
  async function endpointWith(
    path: string,
    count: number,
    responder: ReturnType<typeof status>,
    retry?: object,
  ) {
    receiver.script(path, responder);
    const ep = await api('POST', '/v1/endpoints', {
      url: receiver.url(path),
      event_types: [`t${path}`],
      retry,
    });
    assert.equal(ep.status, 201);
    for (let i = 0; i < count; i++)
      await api('POST', '/v1/events', { event_type: `t${path}`, payload: { i } });
    return ep.body.id as string;
  }

  /** Waits until Temporal's visibility shows `count` deliveries of the endpoint with that status. */
  async function visible(endpointId: string, deliveryStatus: string, count: number) {
    await eventually(
      async () => {
        let n = 0;
        for await (const _ of stack.client.workflow.list({
          query: `HookflowEndpointId = '${endpointId}' AND HookflowDeliveryStatus = '${deliveryStatus}'`,
        }))
          n++;
        return n;
      },
      (n) => n === count,
    );
  }

  it('lists an endpoint’s failing deliveries', async () => {
    const retrying = await endpointWith('/list', 2, status(500), HOUR_BACKOFF);
    await visible(retrying, 'retrying', 2);
    const out = await run('list', retrying);
    for (const view of await views(retrying))
      assert.ok(out.includes(view.workflow_id), `${view.workflow_id} listed`);
    const other = await endpointWith('/list-ok', 1, status(200));
    await visible(other, 'succeeded', 1);
    const none = await run('list', other);
    assert.ok(!none.includes('delivery-'), 'succeeded deliveries are not listed');
  });

  it('retries every retrying delivery of an endpoint now', async () => {
    const ep = await endpointWith('/bulk-retry', 3, status(503), HOUR_BACKOFF);
    await visible(ep, 'retrying', 3);
    receiver.script('/bulk-retry', status(200));
    await run('retry-now', ep);
    const done = await eventually(
      () => views(ep),
      (vs) => vs.every((v) => v.status === 'succeeded'),
      30_000,
    );
    assert.deepEqual(
      done.map((v) => v.attempts),
      [2, 2, 2],
    );
  });

  it('cancels every open delivery of an endpoint', async () => {
    const ep = await endpointWith('/bulk-cancel', 3, status(500), HOUR_BACKOFF);
    await visible(ep, 'retrying', 3);
    await run('cancel', ep);
    await eventually(
      () => views(ep),
      (vs) => vs.every((v) => v.status === 'cancelled'),
      30_000,
    );
    await visible(ep, 'cancelled', 3);
    assert.equal(receiver.on('/bulk-cancel').length, 3);
  });

  it('redelivers every failed delivery of an endpoint by resetting it, and the views follow', async () => {
    const ep = await endpointWith('/bulk-reset', 2, status(400));
    await visible(ep, 'failed', 2);
    receiver.script('/bulk-reset', status(200));
    await run('redeliver', ep);
    const done = await eventually(
      () => views(ep),
      (vs) => vs.every((v) => v.status === 'succeeded'),
      30_000,
    );
    for (const view of done) {
      assert.equal(view.attempts, 2);
      assert.equal(view.last_status_code, 200);
      const attempts = await api('GET', `/v1/deliveries/${view.id}/attempts`);
      assert.deepEqual(
        attempts.body.data.map((a: { status_code: number }) => a.status_code),
        [400, 200],
      );
    }
    const requests = receiver.on('/bulk-reset');
    assert.equal(requests.length, 4);
    assert.deepEqual(
      requests
        .slice(2)
        .map((r) => r.headers['hookflow-attempt'])
        .sort(),
      ['2', '2'],
    );
    await visible(ep, 'succeeded', 2);
  });
});

// Runs the README's "Operating with the temporal CLI" commands, exactly as written there, through the real
// `temporal` binary, and checks that each has its documented effect on deliveries and their views.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { deliveryWorkflowInput } from '../../src/deliveries/start';
import {
  deliveryWorkflowId,
  QUERY_BY_STATUS,
  SearchAttributes,
  TEMPORAL_CANCEL_ERROR,
} from '../../src/delivery-contract';
import { Endpoint, type EndpointDoc } from '../../src/endpoints/model';
import { newId } from '../../src/ids';
import { viewsReconciled } from '../../src/metrics';
import { useStack } from '../helpers/harness';
import { type Responder, status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';

const HOUR = 3_600_000;

interface DeliveryJson {
  id: string;
  endpoint_id: string;
  event_id: string;
  workflow_id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
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
  // The view reconciler every second, so that the views of terminated deliveries follow quickly.
  const h = useStack({ project: 'cli', reconcileIntervalMs: 1_000 });
  const { api } = h;
  const commands = readmeCommands();
  const views = (endpointId: string) =>
    api('GET', `/v1/deliveries?endpoint_id=${endpointId}`).then((r) => r.body.data as DeliveryJson[]);
  const delivery = (id: string): Promise<DeliveryJson> => h.delivery(id);

  /** Runs the README's `cli:<name>` command for an endpoint's deliveries (a string) or for one workflow. */
  async function run(
    name: string,
    target: string | { workflowId: string } | { consumerId: string },
  ): Promise<string> {
    const command = commands.get(name);
    assert.ok(command, `README documents cli:${name}`);
    const { stdout } = await promisify(execFile)('bash', ['-c', command], {
      env: {
        ...process.env,
        PATH: `${dirname(h.stack.temporalBinary)}:${process.env.PATH}`,
        TEMPORAL_ADDRESS: h.stack.temporalAddress,
        ...(typeof target === 'string'
          ? { ENDPOINT_ID: target }
          : 'consumerId' in target
            ? { CONSUMER_ID: target.consumerId }
            : { WORKFLOW_ID: target.workflowId }),
      },
    });
    return stdout;
  }

  /** The `temporal` CLI with other arguments than the README's. */
  async function temporal(...args: string[]): Promise<void> {
    await promisify(execFile)(h.stack.temporalBinary, [...args, '--address', h.stack.temporalAddress]);
  }

  /** The one delivery of a new endpoint at `path`, once it waits to retry after `attempts` attempts. */
  async function retryingDelivery(
    path: string,
    responders: Responder[],
    retry: object = HOUR_BACKOFF,
    attempts = 1,
  ): Promise<DeliveryJson> {
    h.receiver.script(path, ...responders);
    await h.createEndpoint(path, { retry });
    const { id } = await h.publishTo(path, {});
    return eventually(
      () => delivery(id),
      (v) => v.status === 'retrying' && v.attempts === attempts,
    );
  }

  /** How the workflow closed, once it has (the view is written a workflow task before that). */
  async function closeStatus(workflowId: string): Promise<string> {
    const handle = h.stack.client.workflow.getHandle(workflowId);
    return eventually(
      async () => (await handle.describe()).status.name,
      (s) => s !== 'RUNNING',
    );
  }

  /** Completed passes of the view reconciler so far. */
  async function reconcilerPasses(): Promise<number> {
    let n = 0;
    for await (const _ of h.stack.client.workflow.list({
      query: `WorkflowType = 'reconcileViewsWorkflow' AND ExecutionStatus = 'Completed'`,
    }))
      n++;
    return n;
  }

  /** An endpoint at `path` with `count` deliveries in it, each answered by `responder` at first. */
  async function endpointWith(
    path: string,
    count: number,
    responder: ReturnType<typeof status>,
    retry?: object,
  ) {
    h.receiver.script(path, responder);
    const ep = await h.createEndpoint(path, { retry });
    for (let i = 0; i < count; i++) await h.publishTo(path, { i });
    return ep.id as string;
  }

  /** Waits until Temporal's visibility shows `count` deliveries of the endpoint with that status. */
  async function visible(endpointId: string, deliveryStatus: string, count: number) {
    await eventually(
      async () => {
        let n = 0;
        for await (const _ of h.stack.client.workflow.list({
          query: `HookflowEndpointId = '${endpointId}' AND ${QUERY_BY_STATUS[deliveryStatus as keyof typeof QUERY_BY_STATUS] ?? `HookflowDeliveryStatus = '${deliveryStatus}'`}`,
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
    h.receiver.script('/bulk-retry', status(200));
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
    assert.equal(h.receiver.on('/bulk-cancel').length, 3);
  });

  it('lists, retries now and cancels one consumer’s deliveries across its endpoints, no other’s', async () => {
    const [acme, globex] = await Promise.all(
      ['acme', 'globex'].map(
        async (name) => (await api('POST', '/v1/consumers', { name })).body.id as string,
      ),
    );
    const endpoints = await Promise.all(
      [
        ['/consumer-a1', acme],
        ['/consumer-a2', acme],
        ['/consumer-g1', globex],
      ].map(async ([path, consumer]) => {
        h.receiver.script(path, status(500), status(200));
        const ep = await h.createEndpoint(path, { retry: HOUR_BACKOFF, consumer_id: consumer });
        await h.publishTo(path, {});
        return ep.id as string;
      }),
    );
    await Promise.all(endpoints.map((ep) => visible(ep, 'retrying', 1)));
    const listed = await run('consumer-list', { consumerId: acme });
    const [a1, a2, g1] = await Promise.all(endpoints.map(async (ep) => (await views(ep))[0].workflow_id));
    assert.ok(listed.includes(a1) && listed.includes(a2), listed);
    assert.ok(!listed.includes(g1), 'another consumer’s delivery is not listed');

    await run('consumer-retry-now', { consumerId: acme });
    for (const ep of endpoints.slice(0, 2)) {
      await eventually(
        () => views(ep),
        (vs) => vs[0]?.status === 'succeeded',
        30_000,
      );
    }
    assert.equal((await views(endpoints[2]))[0].status, 'retrying');
    await run('consumer-cancel', { consumerId: globex });
    await eventually(
      () => views(endpoints[2]),
      (vs) => vs[0]?.status === 'cancelled',
      30_000,
    );
  });

  it('redelivers every failed delivery of an endpoint by resetting it, and the views follow', async () => {
    const ep = await endpointWith('/bulk-reset', 2, status(400));
    await visible(ep, 'failed', 2);
    h.receiver.script('/bulk-reset', status(200));
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
    const requests = h.receiver.on('/bulk-reset');
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

  // Retries of the second attempt on wait in the activity's own backoff, as Temporal schedules them.
  const SECOND_ATTEMPT_WAITS_AN_HOUR = {
    max_attempts: 5,
    initial_interval_ms: 100,
    backoff_coefficient: 1,
    max_interval_ms: HOUR,
  };
  const retryAfterHour = status(503, '', { 'retry-after': '3600' });

  for (const [where, responders, retry, attempts] of [
    ['its backoff timer', [status(500)], HOUR_BACKOFF, 1],
    ['its activity’s retry backoff', [status(500), retryAfterHour], SECOND_ATTEMPT_WAITS_AN_HOUR, 2],
  ] as const) {
    it(`cancels a delivery waiting in ${where} when Temporal is asked to (Request Cancellation)`, async () => {
      const path = `/request-cancel-${attempts}`;
      const d = await retryingDelivery(path, [...responders], retry, attempts);
      await run('request-cancel', { workflowId: d.workflow_id });
      const view = await eventually(
        () => delivery(d.id),
        (v) => v.status === 'cancelled',
      );
      assert.equal(view.last_error, TEMPORAL_CANCEL_ERROR);
      assert.equal(view.next_attempt_at, null);
      assert.equal(view.attempts, attempts);
      await visible(d.endpoint_id, 'cancelled', 1);
      // Closed: no further request can come.
      assert.equal(await closeStatus(d.workflow_id), 'CANCELLED');
      assert.equal(h.receiver.on(path).length, attempts);
      assert.equal((await api('POST', `/v1/deliveries/${d.id}/cancel`)).status, 409);
    });
  }

  it('cancels a delivery with the cancel signal, as the REST cancel does', async () => {
    const d = await retryingDelivery('/signal-cancel', [status(500)]);
    await run('signal-cancel', { workflowId: d.workflow_id });
    const view = await eventually(
      () => delivery(d.id),
      (v) => v.status === 'cancelled',
    );
    assert.equal(view.last_error, 'cancelled by request');
    await visible(d.endpoint_id, 'cancelled', 1);
    assert.equal(await closeStatus(d.workflow_id), 'COMPLETED');
    assert.equal((await api('POST', `/v1/deliveries/${d.id}/cancel`)).status, 409);
  });

  const reconciledFailed = async () =>
    (await viewsReconciled.get()).values.find((v) => v.labels.status === 'failed')?.value ?? 0;

  it('records a terminated delivery as failed, naming the termination', async () => {
    const d = await retryingDelivery('/terminate', [status(500)]);
    const counted = await reconciledFailed();
    await run('terminate', { workflowId: d.workflow_id });
    const view = await eventually(
      () => delivery(d.id),
      (v) => v.status === 'failed',
      30_000,
    );
    assert.match(view.last_error ?? '', /^terminated in Temporal: receiver retired \(by .+\)$/);
    assert.equal(view.next_attempt_at, null);
    assert.equal(view.attempts, 1);
    assert.equal(await closeStatus(d.workflow_id), 'TERMINATED');
    assert.equal((await api('POST', `/v1/deliveries/${d.id}/cancel`)).status, 409);
    assert.equal((await api('POST', `/v1/deliveries/${d.id}/retry`)).status, 409);
    assert.equal(await reconciledFailed(), counted + 1);
  });

  it('follows a reset run, not the run it replaced, and records that run when it is terminated in turn', async () => {
    const d = await retryingDelivery('/reset-then-terminate', [status(500)]);
    // The reset closes the running run (Terminated) and starts a new one, whose first attempt fails too.
    await temporal(
      'workflow',
      'reset',
      '--workflow-id',
      d.workflow_id,
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'test',
    );
    await eventually(
      () => delivery(d.id),
      (v) => v.status === 'retrying' && v.attempts === 2,
    );
    const passes = await reconcilerPasses();
    await eventually(reconcilerPasses, (n) => n >= passes + 2, 30_000);
    assert.equal((await delivery(d.id)).status, 'retrying', 'the run the reset replaced is not the delivery');

    await run('terminate', { workflowId: d.workflow_id });
    const view = await eventually(
      () => delivery(d.id),
      (v) => v.status === 'failed',
      30_000,
    );
    assert.match(view.last_error ?? '', /^terminated in Temporal: receiver retired/);
  });

  it('records a delivery whose workflow run timed out as failed', async () => {
    const d = await retryingDelivery('/timed-out', [status(500)]);
    // A second delivery of the same event and endpoint, started by hand with a run timeout.
    const endpoint = (await Endpoint.findById(d.endpoint_id).lean()) as EndpointDoc;
    const id = newId('dlv');
    const view = {
      _id: id,
      project_id: endpoint.project_id,
      endpoint_id: endpoint._id,
      event_id: d.event_id,
      event_type: 't/timed-out',
      url: endpoint.url,
      trigger: 'resend' as const,
      replay_of_delivery_id: d.id,
      consumer_id: null,
      workflow_id: deliveryWorkflowId(id),
    };
    await h.stack.client.workflow.start('deliveryWorkflow', {
      taskQueue: h.stack.taskQueue,
      workflowId: view.workflow_id,
      args: [deliveryWorkflowInput(view, endpoint)],
      workflowRunTimeout: '3 seconds',
    });
    const done = await eventually(
      () => delivery(id),
      (v) => v?.status === 'failed',
      30_000,
    );
    assert.match(done.last_error ?? '', /^timed out in Temporal/);
    assert.equal(await closeStatus(view.workflow_id), 'TIMED_OUT');
  });

  it('queries its search attributes through their own visibility indexes, the unused ones trimmed', async () => {
    const db = join(h.stack.dataDir, 'temporal.db');
    const python = join(dirname(dirname(h.stack.temporalBinary)), 'bin', 'python');
    /** Runs SQL against the dev server's database (read by the Python that runs the trim). */
    const sql = (query: string): string[][] => {
      const script = `import sqlite3,sys,json; print(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))`;
      return JSON.parse(execFileSync(python, ['-c', script, db, query], { encoding: 'utf8' }));
    };
    const indexes = () =>
      sql("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility'").map(
        ([name]) => name,
      );
    const { namespaces } = await h.stack.client.connection.workflowService.listNamespaces({});
    const aliases = Object.entries(
      namespaces.find((ns) => ns.namespaceInfo?.name === 'default')?.config?.customSearchAttributeAliases ??
        {},
    );
    const statusColumn = aliases.find(([, alias]) => alias === SearchAttributes.status.name)?.[0];
    assert.ok(statusColumn, 'the status search attribute has a column');
    const kept = indexes();
    // The stock schema has 59; kept: the primary key, ten for built-in filters, one per hookflow search attribute.
    assert.equal(kept.length, 1 + 10 + Object.keys(SearchAttributes).length, kept.join(' '));
    assert.ok(!kept.includes('by_bool_01') && !kept.includes('by_history_length'));
    // Each is served by its own index; a sparse one (the consumer's, set on few workflows) holds only the
    // rows that have a value, and still serves a query by value.
    const consumerColumn = aliases.find(([, alias]) => alias === SearchAttributes.consumerId.name)?.[0];
    for (const column of [statusColumn, consumerColumn]) {
      const plan = sql(
        `EXPLAIN QUERY PLAN SELECT run_id FROM executions_visibility WHERE namespace_id = 'x' AND ${column} = 'y'`,
      );
      assert.match(JSON.stringify(plan), /USING INDEX by_keyword_\d\d/, `${column}: ${JSON.stringify(plan)}`);
    }
    const partial = sql(
      "SELECT name FROM sqlite_master WHERE tbl_name = 'executions_visibility' AND sql LIKE '%IS NOT NULL'",
    ).map(([name]) => name);
    assert.equal(partial.length, 3 + Object.keys(SearchAttributes).length, partial.join(' '));
    assert.ok(partial.includes('by_parent_workflow_id') && !partial.includes('by_workflow_id'));

    // A search attribute registered after a trim (its column's index dropped) gets it back at the next start.
    const trim = (columns: string[]) =>
      JSON.parse(
        execFileSync(python, ['-B', join(__dirname, '..', '..', 'scripts', 'visibility-indexes.py'), db], {
          input: JSON.stringify({ keep: kept, columns }),
          encoding: 'utf8',
        }),
      );
    const later = ['Keyword01', 'Keyword02', 'Keyword03', 'Keyword04', 'Keyword05', 'Keyword06', 'Keyword07']
      .filter((column) => !aliases.some(([c]) => c === column))
      .at(0) as string;
    const added = trim([...aliases.map(([c]) => c), later]);
    assert.deepEqual(added.created, [later]);
    assert.equal(added.partial.length, 1);
    assert.equal(indexes().length, kept.length + 1);
    // A database without one of hookflow's search attributes (made by an older version) gets it at start:
    // the dev server's own flags register none where some exist.
    const circuit = SearchAttributes.circuitState.name;
    await h.stack.client.connection.operatorService.removeSearchAttributes({
      namespace: 'default',
      searchAttributes: [circuit],
    });
    await h.stack.restartTemporal();
    // (The search attribute registered again may land in another column: count, not names.)
    assert.equal(indexes().length, kept.length, 'the next start drops the unused one again');
    const { customAttributes } = await h.stack.client.connection.operatorService.listSearchAttributes({
      namespace: 'default',
    });
    assert.ok(circuit in customAttributes, `${circuit} registered again`);

    // And the README's status query still answers (through the index, after a restart).
    assert.equal((await run('list', 'no-such-endpoint')).trim(), '');
  });
});

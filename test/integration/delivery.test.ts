// Core delivery end to end: real Temporal dev server, real FerretDB, real loopback receivers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Delivery } from '../../src/deliveries/model';
import { finalStatusOf, markFinal } from '../../src/deliveries/view';
import { QUERY_BY_STATUS, SearchAttributes } from '../../src/delivery-contract';
import { Event } from '../../src/events/model';
import { createEventReader } from '../../src/events/reader';
import { useStack } from '../helpers/harness';
import { delayed, status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';

const FAST_RETRY = {
  max_attempts: 5,
  initial_interval_ms: 1500,
  backoff_coefficient: 1,
  max_interval_ms: 1500,
};

describe('delivery', () => {
  const h = useStack({ project: 'delivery' });
  const { api, publish, createEndpoint: endpoint, verifySignature } = h;
  const finalDelivery = (id: string) => h.waitForStatus(id, 'final');

  it('delivers the exact payload bytes, signed per Standard Webhooks, with the documented headers', async () => {
    const ep = await endpoint('/happy', { headers: { 'X-Team': 'payments' } });
    const payload = { order: { id: 42, total: 19.99, items: ['a', 'ü'] }, note: null };
    const event = await publish({ event_type: 't/happy', payload, headers: { 'X-Trace': 'abc' } });
    assert.equal(event.deliveries.length, 1);
    const deliveryId = event.deliveries[0].id;

    const [req] = await h.receiver.waitFor('/happy', 1);
    assert.equal(req.body, JSON.stringify(payload));
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.match(String(req.headers['user-agent']), /^hookflow\/\d+\.\d+\.\d+$/);
    assert.equal(req.headers['webhook-id'], event.id);
    assert.equal(req.headers['hookflow-event-type'], 't/happy');
    assert.equal(req.headers['hookflow-delivery-id'], deliveryId);
    assert.equal(req.headers['hookflow-attempt'], '1');
    assert.equal(req.headers['hookflow-replay-of'], undefined);
    assert.equal(req.headers['x-team'], 'payments');
    assert.equal(req.headers['x-trace'], 'abc');
    assert.equal(req.headers.traceparent, undefined, 'trace context is forwarded only when asked');
    assert.deepEqual(verifySignature(ep.secret, req), payload);
    assert.throws(() => verifySignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', req));

    const view = await finalDelivery(deliveryId);
    assert.equal(view.status, 'succeeded');
    assert.equal(view.attempts, 1);
    assert.equal(view.last_status_code, 200);
    assert.equal(view.workflow_id, `delivery-${deliveryId}`);
    assert.equal(view.trigger, 'initial');
    assert.ok(view.delivered_at);
    const attempts = await api('GET', `/v1/deliveries/${deliveryId}/attempts`);
    assert.equal(attempts.body.data.length, 1);
    assert.equal(attempts.body.data[0].status_code, 200);

    // The same delivery in Temporal: by workflow id, search attributes and memo.
    const handle = h.stack.client.workflow.getHandle(view.workflow_id);
    const { description, status } = await h.closedWorkflow(view.workflow_id);
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(status, 'succeeded');
    // Success leaves the status attribute as it was at start: Completed says it (one billable action less).
    assert.equal(description.typedSearchAttributes.get(SearchAttributes.status), 'pending');
    assert.deepEqual(description.memo, {
      url: h.receiver.url('/happy'),
      event_id: event.id,
      delivery_id: deliveryId,
    });
    // Temporal's whole cost of a delivery that succeeds at once: one workflow task, the attempt as a local
    // activity. No versioning marker nor TemporalChangeVersion upsert (the input carries
    // how the first attempt is made).
    const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as {
      events: { eventType: string }[];
    };
    assert.deepEqual(
      history.events.map((e) => e.eventType.replace('EVENT_TYPE_', '')),
      [
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
        'MARKER_RECORDED',
        'WORKFLOW_EXECUTION_COMPLETED',
      ],
    );
    assert.equal(
      description.raw.workflowExecutionInfo?.searchAttributes?.indexedFields?.TemporalChangeVersion,
      undefined,
    );
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const wf of h.stack.client.workflow.list({
          query: `HookflowEndpointId = '${ep.id}' AND ${QUERY_BY_STATUS.succeeded} AND HookflowEventType = 't/happy'`,
        }))
          ids.push(wf.workflowId);
        return ids;
      },
      (ids) => ids.length === 1,
    );
    assert.deepEqual(found, [view.workflow_id]);
  });

  it('retries 500, 500 then succeeds: retrying with next_attempt_at, then succeeded after 3 attempts', async () => {
    h.receiver.script('/flaky', status(500, 'boom'), status(500, 'boom'), status(200, 'fine'));
    await endpoint('/flaky', { retry: FAST_RETRY });
    const event = await publish({ event_type: 't/flaky', payload: { n: 1 } });
    const id = event.deliveries[0].id;

    const retrying = await h.waitForStatus(id, 'retrying');
    assert.ok(retrying.next_attempt_at, 'next_attempt_at is set while retrying');
    assert.ok(new Date(retrying.next_attempt_at).getTime() > Date.now() - 1000);
    assert.equal(retrying.last_status_code, 500);

    const view = await finalDelivery(id);
    assert.equal(view.status, 'succeeded');
    assert.equal(view.attempts, 3);
    assert.equal(view.last_status_code, 200);
    assert.equal(view.next_attempt_at, null);
    const attempts = (await api('GET', `/v1/deliveries/${id}/attempts`)).body.data;
    assert.deepEqual(
      attempts.map((a: { attempt: number; status_code: number }) => [a.attempt, a.status_code]),
      [
        [1, 500],
        [2, 500],
        [3, 200],
      ],
    );
    const requests = h.receiver.on('/flaky');
    assert.equal(requests.length, 3);
    assert.deepEqual(
      requests.map((r) => r.headers['hookflow-attempt']),
      ['1', '2', '3'],
    );
    // Retries keep the webhook-id so receivers can dedupe.
    assert.equal(new Set(requests.map((r) => r.headers['webhook-id'])).size, 1);
  });

  it('waits out a first attempt longer than a workflow task timeout (10 s), and makes it once', async () => {
    // The first attempt is a local activity, run inside a workflow task: the worker must keep that task
    // alive past its timeout instead of letting the server hand it (and the request) to another worker.
    h.receiver.script('/slow', delayed(11_000, status(200)));
    await endpoint('/slow', { retry: FAST_RETRY, timeout_ms: 20_000 });
    const event = await publish({ event_type: 't/slow', payload: {} });
    const view = await h.waitForStatus(event.deliveries[0].id, 'succeeded', 30_000);
    assert.equal(view.attempts, 1);
    assert.equal(h.receiver.on('/slow').length, 1);
  });

  it('forwards a W3C trace context on each attempt when the endpoint asks, over its own header', async () => {
    // Tracing is off in this process: each attempt gets a fresh, unsampled context (tracing.test.ts: on).
    h.receiver.script('/trace-ctx', status(500), status(200));
    const ep = await endpoint('/trace-ctx', {
      retry: FAST_RETRY,
      forward_trace_context: true,
      headers: { traceparent: 'set-by-the-endpoint' },
    });
    assert.equal(ep.forward_trace_context, true);
    const first = await publish({ event_type: 't/trace-ctx', payload: {} });
    assert.equal((await finalDelivery(first.deliveries[0].id)).attempts, 2);
    const sent = h.receiver.on('/trace-ctx').map((r) => String(r.headers.traceparent));
    assert.equal(sent.length, 2);
    for (const value of sent) assert.match(value, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.notEqual(sent[0], sent[1]);

    const off = await api('PATCH', `/v1/endpoints/${ep.id}`, { forward_trace_context: false });
    assert.equal(off.status, 200);
    assert.equal(off.body.forward_trace_context, false);
    assert.equal((await api('GET', `/v1/endpoints/${ep.id}`)).body.forward_trace_context, false);
    const second = await publish({ event_type: 't/trace-ctx', payload: {} });
    await finalDelivery(second.deliveries[0].id);
    assert.equal(h.receiver.on('/trace-ctx')[2]?.headers.traceparent, 'set-by-the-endpoint');
    const bad = await api('PATCH', `/v1/endpoints/${ep.id}`, { forward_trace_context: 'yes' });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.detail[0].loc, ['body', 'forward_trace_context']);
  });

  it('fails after one attempt on 400', async () => {
    h.receiver.script('/bad', status(400, 'nope'));
    await endpoint('/bad', { retry: FAST_RETRY });
    const event = await publish({ event_type: 't/bad', payload: {} });
    const view = await finalDelivery(event.deliveries[0].id);
    assert.equal(view.status, 'failed');
    assert.equal(view.attempts, 1);
    assert.equal(view.last_status_code, 400);
    assert.equal(view.last_response, 'nope');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(h.receiver.on('/bad').length, 1);
  });

  it('fails on 410 and disables the endpoint', async () => {
    h.receiver.script('/gone', status(410));
    const ep = await endpoint('/gone', { retry: FAST_RETRY });
    const event = await publish({ event_type: 't/gone', payload: {} });
    const view = await finalDelivery(event.deliveries[0].id);
    assert.equal(view.status, 'failed');
    assert.equal(view.attempts, 1);
    const after = await api('GET', `/v1/endpoints/${ep.id}`);
    assert.equal(after.body.status, 'disabled');
    // A disabled endpoint gets no new deliveries.
    const next = await api('POST', '/v1/events', { event_type: 't/gone', payload: {} });
    assert.equal(next.status, 202);
    assert.ok(!next.body.deliveries.some((d: { endpoint_id: string }) => d.endpoint_id === ep.id));
  });

  it('fails once retries are exhausted', async () => {
    h.receiver.script('/down', status(503));
    await endpoint('/down', {
      retry: { max_attempts: 3, initial_interval_ms: 200, backoff_coefficient: 2, max_interval_ms: 1000 },
    });
    const event = await publish({ event_type: 't/down', payload: {} });
    const view = await finalDelivery(event.deliveries[0].id);
    assert.equal(view.status, 'failed');
    assert.equal(view.attempts, 3);
    assert.equal(h.receiver.on('/down').length, 3);
    const wf = await h.closedWorkflow(view.workflow_id);
    assert.equal(wf.description.status.name, 'COMPLETED');
    assert.equal(wf.status, 'failed');
  });

  it('honours Retry-After on 429', async () => {
    h.receiver.script('/slow-down', status(429, '', { 'retry-after': '2' }), status(200));
    await endpoint('/slow-down', {
      retry: { ...FAST_RETRY, initial_interval_ms: 10, max_interval_ms: 60_000 },
    });
    const event = await publish({ event_type: 't/slow-down', payload: {} });
    const requests = await h.receiver.waitFor('/slow-down', 2);
    const gap = requests[1].at - requests[0].at;
    assert.ok(gap >= 1900, `second attempt came ${gap} ms after the 429 with Retry-After: 2`);
    assert.equal((await finalDelivery(event.deliveries[0].id)).status, 'succeeded');
  });

  it('fans out only to active endpoints subscribed to the event type', async () => {
    const subscribed = await endpoint('/sub', { event_types: ['invoice.paid'] });
    const other = await endpoint('/other', { event_types: ['invoice.voided'] });
    const paused = await endpoint('/paused', { event_types: ['invoice.paid'], status: 'paused' });
    const event = await publish({ event_type: 'invoice.paid', payload: { x: 1 } });
    const targets = event.deliveries.map((d: { endpoint_id: string }) => d.endpoint_id);
    assert.ok(targets.includes(subscribed.id));
    assert.ok(!targets.includes(other.id));
    assert.ok(!targets.includes(paused.id));
    await h.receiver.waitFor('/sub', 1);
    const list = await api('GET', `/v1/deliveries?endpoint_id=${other.id}`);
    assert.deepEqual(list.body.data, []);
    assert.equal(h.receiver.on('/other').length, 0);
  });

  it('delivers to an explicit endpoint list only', async () => {
    const a = await endpoint('/explicit-a', { event_types: ['user.created'] });
    await endpoint('/explicit-b', { event_types: ['user.created'] });
    const event = await publish({ event_type: 'user.created', payload: {}, endpoint_ids: [a.id] });
    assert.deepEqual(
      event.deliveries.map((d: { endpoint_id: string }) => d.endpoint_id),
      [a.id],
    );
    const unknown = await api('POST', '/v1/events', {
      event_type: 'user.created',
      payload: {},
      endpoint_ids: ['ep_00000000000000000000'],
    });
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.body.detail[0].loc, ['body', 'endpoint_ids', 0]);
  });

  it('treats a repeated idempotency key as the same event and starts nothing', async () => {
    await endpoint('/idem', { event_types: ['idem.test'] });
    const body = { event_type: 'idem.test', payload: { v: 1 }, idempotency_key: 'order-77' };
    const first = await publish(body);
    const second = await api('POST', '/v1/events', body);
    assert.equal(second.status, 200);
    assert.equal(second.body.is_duplicate, true);
    assert.equal(second.body.id, first.id);
    assert.deepEqual(
      second.body.deliveries.map((d: { id: string }) => d.id),
      first.deliveries.map((d: { id: string }) => d.id),
    );
    // The Idempotency-Key header works the same way.
    const third = await h.stack.request('POST', '/v1/events', {
      key: h.key,
      body: { event_type: 'idem.test', payload: { v: 1 } },
      headers: { 'idempotency-key': 'order-77' },
    });
    assert.equal(third.body.id, first.id);
    await h.receiver.waitFor('/idem', 1);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(h.receiver.on('/idem').length, 1);
    const events = await api('GET', '/v1/events?event_type=idem.test');
    assert.equal(events.body.data.length, 1);
  });

  it('lists deliveries with filters and cursor pagination', async () => {
    const ep = await endpoint('/paged', { event_types: ['page.test'] });
    for (let i = 0; i < 3; i++) await publish({ event_type: 'page.test', payload: { i } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: { id: string; endpoint_id: string }[]; next_cursor: string | null } } =
        await api('GET', `/v1/deliveries?endpoint_id=${ep.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      for (const d of res.body.data) {
        assert.equal(d.endpoint_id, ep.id);
        seen.push(d.id);
      }
      cursor = res.body.next_cursor;
    } while (cursor);
    assert.equal(seen.length, 3);
    assert.deepEqual([...seen].sort().reverse(), seen, 'newest first');
    const byType = await api('GET', '/v1/deliveries?event_type=page.test&limit=250');
    assert.equal(byType.body.data.length, 3);
    const future = await api('GET', `/v1/deliveries?since=${encodeURIComponent('2999-01-01T00:00:00Z')}`);
    assert.deepEqual(future.body.data, []);
  });

  it("reads an event once for its deliveries, and never another project's event", async () => {
    const { id: projectId } = await h.stack.newProject('reader');
    const eventId = `evt_reader_${Date.now()}`;
    const readEvent = createEventReader();
    const findOne = Event.collection.findOne.bind(Event.collection);
    let reads = 0;
    // Only reads of this event count: the in-process worker may read other events meanwhile.
    Event.collection.findOne = ((...args: Parameters<typeof findOne>) => {
      if ((args[0] as { _id?: unknown } | undefined)?._id === eventId) reads++;
      return findOne(...args);
    }) as typeof findOne;
    try {
      // Not stored yet: missing, and the miss is not kept.
      assert.equal(await readEvent(eventId, projectId), null);
      await Event.create({
        _id: eventId,
        project_id: projectId,
        event_type: 'reader',
        payload_json: '{"n":1}',
        dedupe_key: eventId,
      });
      reads = 0;
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => readEvent(eventId, projectId)));
      assert.equal(a?.payload_json, '{"n":1}');
      assert.deepEqual([b, c], [a, a]);
      assert.equal(await readEvent(eventId, 'prj_someone_else'), null);
      assert.equal((await readEvent(eventId, projectId))?._id, eventId);
      assert.equal(reads, 1, 'one MongoDB read for every read of the event');
    } finally {
      Event.collection.findOne = findOne;
    }
  });

  it('marks a delivery final once per run, never over a success or its own run’s outcome', async () => {
    const view = (id: string, status: 'retrying' | 'succeeded') =>
      Delivery.create({
        _id: id,
        project_id: 'prj_final',
        endpoint_id: 'ep_final',
        event_id: 'evt_final',
        event_type: 'final',
        url: 'http://127.0.0.1:9/final',
        workflow_id: `delivery-${id}`,
        status,
      });
    const stamp = Date.now();
    const [open, done] = [`dlv_final_open_${stamp}`, `dlv_final_done_${stamp}`];
    await Promise.all([view(open, 'retrying'), view(done, 'succeeded')]);

    assert.equal((await markFinal(open, 'run-1', 'cancelled', 'cancelled by request'))?.status, 'retrying');
    // Repeated (a retried activity): nothing changes, nothing to count again.
    assert.equal(await markFinal(open, 'run-1', 'cancelled', 'cancelled by request'), null);
    assert.equal(await markFinal(open, 'run-1', 'failed', 'timed out'), null);
    // A later run (a reset) may end it again.
    assert.equal((await markFinal(open, 'run-2', 'failed', 'timed out'))?.status, 'cancelled');
    assert.equal(await markFinal(open, 'run-2', 'failed', 'timed out'), null);
    const stored = await Delivery.findById(open).lean();
    assert.equal(stored?.status, 'failed');
    assert.equal(stored?.run_id, 'run-2');
    // The failure run-2's attempt recorded stands against run-2's own cancel, and is what the run learns.
    assert.equal(await markFinal(open, 'run-2', 'cancelled', 'cancelled by request'), null);
    assert.equal(await finalStatusOf(open, 'cancelled'), 'failed');

    assert.equal(await markFinal(done, 'run-1', 'cancelled', 'cancelled by request'), null);
    assert.equal(await markFinal(done, 'run-1', 'failed', 'timed out'), null);
    assert.equal((await Delivery.findById(done).lean())?.status, 'succeeded');
    assert.equal(await finalStatusOf(done, 'failed'), 'succeeded');
  });
});

// The first attempt and the API both store a new delivery's view, in either order. These tests put the API's
// insert at the moments a loaded store can put it (inside the attempt's upsert, before and after the
// attempt) and check that the delivery is attempted once and ends as the receiver answered.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Delivery, type NewDelivery, newDeliveryView } from '../../src/deliveries/model';
import { startDeliveries, startDeliveryWorkflow } from '../../src/deliveries/start';
import { beginAttempt } from '../../src/deliveries/view';
import { deliveryWorkflowId } from '../../src/delivery-contract';
import { Endpoint, type EndpointDoc } from '../../src/endpoints/model';
import { Event, newEvent } from '../../src/events/model';
import { newId } from '../../src/ids';
import { viewConflicts } from '../../src/metrics';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';

describe('a new delivery view stored by the API and by the first attempt, in any order', () => {
  const h = useStack({ project: 'races' });
  const { api } = h;
  const collection = Delivery.collection;
  const findOneAndUpdate = collection.findOneAndUpdate;

  afterEach(() => {
    collection.findOneAndUpdate = findOneAndUpdate;
  });

  /** An endpoint and an event stored, and the view of a delivery between them that nobody stored yet. */
  async function newDelivery(path: string): Promise<{ view: NewDelivery; endpoint: EndpointDoc }> {
    const ep = await h.createEndpoint(path, {
      retry: { max_attempts: 5, initial_interval_ms: 100, backoff_coefficient: 1, max_interval_ms: 100 },
    });
    const endpoint = (await Endpoint.findById(ep.id).lean()) as EndpointDoc;
    const eventId = newId('evt');
    const common = { project_id: endpoint.project_id, consumer_id: null, event_type: `t${path}` };
    await Event.collection.insertOne(
      newEvent(
        {
          _id: eventId,
          ...common,
          payload_json: '{}',
          idempotency_key: null,
          dedupe_key: eventId,
          headers: {},
          endpoint_ids: null,
        },
        new Date(),
      ) as never,
    );
    const id = newId('dlv');
    const view: NewDelivery = {
      _id: id,
      ...common,
      endpoint_id: endpoint._id,
      event_id: eventId,
      url: endpoint.url,
      trigger: 'initial',
      replay_of_delivery_id: null,
      workflow_id: deliveryWorkflowId(id),
    };
    return { view, endpoint };
  }

  /**
   * Makes the next `times` begin writes of delivery `id` meet the race: the API's insert of the view lands
   * after the write's lookup found nothing and before its insert, so the store answers E11000. The lookup
   * is made to miss with a condition no view holds; the duplicate key error is the store's own.
   */
  function raceTheApiInsert(view: NewDelivery, times: number) {
    let left = times;
    collection.findOneAndUpdate = (async (filter: Record<string, unknown>, ...rest: unknown[]) => {
      if (filter._id === view._id && left > 0) {
        left--;
        await collection.insertOne(newDeliveryView(view, new Date()) as never).catch(() => {});
        filter = { ...filter, lookup_ran_before_the_insert: true };
      }
      return (findOneAndUpdate as (...args: unknown[]) => unknown).call(collection, filter, ...rest);
    }) as typeof findOneAndUpdate;
  }

  const finished = (id: string) => h.waitForStatus(id, 'final');

  it('attempts a delivery whose view the API stored inside the first attempt’s upsert', async () => {
    h.receiver.script('/inside', status(200));
    const { view, endpoint } = await newDelivery('/inside');
    raceTheApiInsert(view, 1);
    await startDeliveryWorkflow(h.stack, view, endpoint);
    const done = await finished(view._id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempts, 1);
    assert.equal(h.receiver.on('/inside').length, 1);
    const result = await h.stack.client.workflow.getHandle(view.workflow_id).result();
    assert.deepEqual(result, { status: 'succeeded', attemptsThisRun: 1 });
  });

  it('fails an attempt loudly, and retries it, when the view keeps refusing it; never ends the delivery', async () => {
    h.receiver.script('/refused', status(200));
    const { view, endpoint } = await newDelivery('/refused');
    const conflictsBefore = (await viewConflicts.get()).values[0]?.value ?? 0;
    // Every write of the first attempt meets the race (it gives up after four), the retry's does not.
    raceTheApiInsert(view, 4);
    await startDeliveryWorkflow(h.stack, view, endpoint);
    const done = await finished(view._id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempts, 1, 'the attempt that could not begin made no request and is not counted');
    assert.equal(h.receiver.on('/refused').length, 1);
    assert.equal((await viewConflicts.get()).values[0]?.value, conflictsBefore + 1);
  });

  it('keeps one view and one count when the first attempt comes before the API’s insert and again after it', async () => {
    const { view, endpoint } = await newDelivery('/before-and-after');
    const runId = 'run-1';
    const first = await beginAttempt(view._id, runId, `${runId}:local:1`, view);
    assert.ok(first !== 'cancelled');
    assert.equal(first.attempt, 1);
    // The API's insert comes second: it keeps the attempt's view and answers with it.
    const [stored] = await startDeliveries({ client: h.stack.client, taskQueue: 'no-worker-polls-this' }, [
      { view, endpoint },
    ]);
    assert.equal(stored.status, 'in_progress');
    assert.equal(stored.attempts, 1);
    // The same attempt's write again (its answer was lost): counted once.
    const again = await beginAttempt(view._id, runId, `${runId}:local:1`, view);
    assert.ok(again !== 'cancelled');
    assert.equal(again.attempt, 1);
    // A later attempt counts on.
    const next = await beginAttempt(view._id, runId, `${runId}:local:2`, view);
    assert.ok(next !== 'cancelled');
    assert.equal(next.attempt, 2);
    const final = await collection.findOne({ _id: view._id as never });
    assert.equal(final?.attempts, 2);
  });

  it('stores the view of a delivery whose API died between starting its workflow and storing its view', async () => {
    h.receiver.script('/view-left', status(200));
    const { view, endpoint } = await newDelivery('/view-left');
    await startDeliveryWorkflow(h.stack, view, endpoint);
    const done = await finished(view._id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempts, 1);
    for (const field of [
      'endpoint_id',
      'event_id',
      'event_type',
      'url',
      'trigger',
      'replay_of_delivery_id',
      'workflow_id',
    ] as const)
      assert.equal(done[field], view[field], field);
    const attempts = (await api('GET', `/v1/deliveries/${view._id}/attempts`)).body.data;
    assert.deepEqual(
      attempts.map((a: { attempt: number; status: string }) => [a.attempt, a.status]),
      [[1, 'succeeded']],
    );
    const requests = h.receiver.on('/view-left');
    assert.equal(requests.length, 1);
    assert.equal(requests[0].headers['webhook-id'], view.event_id);

    // The same write never brings back a view that is there: cancelled by this run, it stays as it is.
    const runId = (await collection.findOne({ _id: view._id as never }))?.run_id as string;
    await collection.updateOne({ _id: view._id as never }, { $set: { status: 'cancelled' } });
    assert.equal(await beginAttempt(view._id, runId, `${runId}:local:again`, view), 'cancelled');
    const after = await collection.findOne({ _id: view._id as never });
    assert.equal(after?.status, 'cancelled');
    assert.equal(after?.attempts, 1);
  });
});

// Retention and expunge: the retention schedule deletes each project's old deliveries, attempts and events
// (keeping what an unfinished or recent delivery still needs) and finishes pending views a publish left without
// a workflow; DELETE /v1/events/{id}/payload erases one payload now and stops its deliveries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type mongoose from 'mongoose';
import { Delivery, DeliveryAttempt, type DeliveryDoc, newDeliveryView } from '../../src/deliveries/model';
import { deliveryWorkflowId } from '../../src/delivery-contract';
import { FanOutPage } from '../../src/events/fan-out';
import { Event, newEvent } from '../../src/events/model';
import { derivedIds, newId } from '../../src/ids';
import { Operation, OperationPage, operationPageId } from '../../src/operations/model';
import { NO_RETENTION_COUNTS } from '../../src/retention/contract';
import { retentionScheduleId } from '../../src/retention/expire';
import { HOUR_MS, StatsBucket } from '../../src/stats/model';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';

const DAY = 24 * 3_600_000;

describe('retention and expunge', () => {
  const h = useStack({ project: 'retention' });

  async function storeEvent(projectId: string, at: number, eventType = 'old.event') {
    const id = newId('evt', at);
    await Event.collection.insertOne(
      newEvent(
        {
          _id: id,
          project_id: projectId,
          consumer_id: null,
          event_type: eventType,
          payload_json: '{"old":true}',
          idempotency_key: null,
          dedupe_key: id,
          headers: {},
          endpoint_ids: null,
          channels: [],
        },
        new Date(at),
      ) as never,
    );
    return id;
  }

  /** Views (with one attempt each) of `eventId`, made at `at`, in `state`. */
  async function storeDeliveries(
    projectId: string,
    eventId: string,
    at: number,
    state: DeliveryDoc['status'],
    n = 1,
  ) {
    const views = Array.from({ length: n }, () => {
      const id = newId('dlv', at);
      return {
        ...newDeliveryView(
          {
            _id: id,
            project_id: projectId,
            consumer_id: null,
            endpoint_id: 'ep_00000000000000000000',
            event_id: eventId,
            event_type: 'old.event',
            url: 'http://127.0.0.1:9/x',
            trigger: 'initial',
            workflow_id: deliveryWorkflowId(id),
            replay_of_delivery_id: null,
          },
          new Date(at),
        ),
        status: state,
        attempts: 1,
      };
    });
    await Delivery.collection.insertMany(views as never[]);
    await DeliveryAttempt.collection.insertMany(
      views.map((v) => ({
        _id: derivedIds.attempt(v._id, 1),
        delivery_id: v._id,
        project_id: projectId,
        endpoint_id: v.endpoint_id,
        event_id: eventId,
        attempt: 1,
        url: v.url,
        status: state === 'succeeded' ? 'succeeded' : 'failed',
        outcome: '2xx',
        status_code: 200,
        error: null,
        response: null,
        duration_ms: 1,
        started_at: new Date(at),
        created_at: new Date(at),
      })) as never[],
    );
    return views.map((v) => v._id);
  }

  /** Triggers the retention schedule and waits for the pass it starts to finish; returns its counts. */
  async function runRetention() {
    const schedule = h.stack.client.schedule.getHandle(retentionScheduleId(h.stack.taskQueue));
    const before = (await schedule.describe()).info.recentActions.length;
    await schedule.trigger();
    const described = await eventually(
      () => schedule.describe(),
      (d) => d.info.recentActions.length > before,
    );
    const { workflowId } = described.info.recentActions.at(-1)?.action.workflow ?? { workflowId: '' };
    return h.stack.client.workflow.getHandle(workflowId).result();
  }

  const count = (model: mongoose.Model<never>, filter: object) =>
    model.collection.countDocuments(filter as never);

  /** An hour of statistics for `scope` in `projectId`, as a worker writes it. */
  async function storeStats(projectId: string, scope: string, at: number) {
    const hour = new Date(Math.floor(at / HOUR_MS) * HOUR_MS);
    const id = `${scope}:${hour.toISOString()}:test`;
    await StatsBucket.collection.insertOne({
      _id: id,
      scope,
      project_id: projectId,
      hour,
      writer: 'test',
      deliveries: { succeeded: 1, failed: 0, cancelled: 0 },
      attempts: { succeeded: 1, failed: 0 },
      durations: {},
    } as never);
    return id;
  }

  /** A bulk operation begun at `at`, in `state`, with two pages of delivery ids. */
  async function storeOperation(projectId: string, at: number, state: 'running' | 'completed') {
    const id = newId('op', at);
    await Operation.collection.insertOne({
      _id: id,
      project_id: projectId,
      kind: 'replay',
      filter: {},
      before_id: newId('dlv', at),
      page_size: 100,
      status: state,
      total: 2,
      done: state === 'running' ? 1 : 2,
      replayed: 2,
      skipped: 0,
      failed: 0,
      workflow_id: `operation-${id}`,
      completed_at: state === 'running' ? null : new Date(at),
      created_at: new Date(at),
      updated_at: new Date(at),
    } as never);
    await OperationPage.collection.insertMany(
      [0, 1].map((n) => ({ _id: operationPageId(id, n), delivery_ids: [] })) as never[],
    );
    return id;
  }

  it('deletes what is older than each project retention, keeps what deliveries still need, finishes orphans', async () => {
    const schedule = await h.stack.client.schedule
      .getHandle(retentionScheduleId(h.stack.taskQueue))
      .describe();
    assert.equal(schedule.action.workflowType, 'retentionWorkflow');
    assert.deepEqual(
      schedule.spec.intervals?.map((i) => i.every),
      [3_600_000],
    );

    const patched = await h.api('PATCH', '/v1/project', { retention_days: 7 });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.retention_days, 7);
    assert.equal((await h.api('PATCH', '/v1/project', { retention_days: 0 })).status, 422);
    const other = await h.createProject('other');
    assert.equal((await h.api('GET', '/v1/project', undefined, other.key)).body.retention_days, 30);

    const now = Date.now();
    const old = now - 10 * DAY;
    const p = h.projectId;
    const e1 = await storeEvent(p, old);
    const expired = await storeDeliveries(p, e1, old, 'succeeded', 230);
    const e2 = await storeEvent(p, old);
    const [unfinished] = await storeDeliveries(p, e2, old, 'retrying');
    const e3 = await storeEvent(p, old);
    const [oldOfE3] = await storeDeliveries(p, e3, old, 'failed');
    const [replayOfE3] = await storeDeliveries(p, e3, now - DAY, 'succeeded');
    const e4 = await storeEvent(p, now - DAY);
    const [young] = await storeDeliveries(p, e4, now - DAY, 'succeeded');
    const e5 = await storeEvent(p, old);
    await FanOutPage.collection.insertOne({ _id: `${e5}:0`, event_id: e5, endpoint_ids: [] } as never);
    // Past the deliveries' retention but within the events' extra day: its delivery goes, it stays (for now).
    const e6 = await storeEvent(p, now - 7.5 * DAY);
    const [ofE6] = await storeDeliveries(p, e6, now - 7.5 * DAY, 'succeeded');
    const otherEvent = await storeEvent(other.id, old);
    const [otherDelivery] = await storeDeliveries(other.id, otherEvent, old, 'succeeded');

    // A publish that died after storing its view, 20 minutes ago, and one that may still be under way.
    const ep = await h.createEndpoint('/orphan', { event_types: ['old.event'] });
    const orphanEvent = await storeEvent(p, now - 20 * 60_000);
    const orphan = newId('dlv', now - 20 * 60_000);
    const recentEvent = await storeEvent(p, now - 60_000);
    const recent = newId('dlv', now - 60_000);
    for (const [id, eventId, at] of [
      [orphan, orphanEvent, now - 20 * 60_000],
      [recent, recentEvent, now - 60_000],
    ] as const) {
      const view = {
        _id: id,
        project_id: p,
        consumer_id: null,
        endpoint_id: ep.id,
        event_id: eventId,
        event_type: 'old.event',
        url: ep.url,
        trigger: 'initial' as const,
        workflow_id: deliveryWorkflowId(id),
        replay_of_delivery_id: null,
      };
      await Delivery.collection.insertOne(newDeliveryView(view, new Date(at)) as never);
    }

    // Statistics of hours past the retention go; bulk operations begun then go once they have ended.
    const oldStats = [await storeStats(p, p, old), await storeStats(p, ep.id, old)];
    const keptStats = [await storeStats(p, p, now - DAY), await storeStats(other.id, other.id, old)];
    const oldOperation = await storeOperation(p, old, 'completed');
    const keptOperations = [
      await storeOperation(p, old, 'running'),
      await storeOperation(p, now - DAY, 'completed'),
      await storeOperation(other.id, old, 'completed'),
    ];

    const counts = await runRetention();
    assert.deepEqual(counts, {
      deliveries: 232,
      attempts: 232,
      events: 2,
      statistics: 2,
      operations: 1,
      orphans: 1,
    });
    assert.equal(await count(StatsBucket as never, { _id: { $in: oldStats } }), 0);
    assert.equal(await count(StatsBucket as never, { _id: { $in: keptStats } }), 2);
    assert.equal(await count(Operation as never, { _id: oldOperation }), 0);
    assert.equal(
      await count(OperationPage as never, {
        _id: { $in: [0, 1].map((n) => operationPageId(oldOperation, n)) },
      }),
      0,
    );
    for (const id of keptOperations) {
      assert.equal(await count(Operation as never, { _id: id }), 1, id);
      assert.equal(await count(OperationPage as never, { _id: operationPageId(id, 1) }), 1, id);
    }
    assert.equal(await count(Delivery as never, { _id: { $in: [...expired, oldOfE3, ofE6] } }), 0);
    assert.equal(await count(DeliveryAttempt as never, { delivery_id: { $in: [...expired, oldOfE3] } }), 0);
    assert.equal(await count(Event as never, { _id: { $in: [e1, e5] } }), 0);
    assert.equal(await count(FanOutPage as never, { event_id: e5 }), 0);
    // Kept: an unfinished delivery and its event, an event a recent replay refers to, what is young, and
    // another project's data under its own (longer) retention.
    for (const id of [unfinished, replayOfE3, young, otherDelivery])
      assert.equal(await count(Delivery as never, { _id: id }), 1, id);
    assert.equal(await count(DeliveryAttempt as never, { delivery_id: unfinished }), 1);
    for (const id of [e2, e3, e4, e6, otherEvent])
      assert.equal(await count(Event as never, { _id: id }), 1, id);
    assert.equal((await h.api('GET', `/v1/events/${e1}`)).status, 404);

    // The orphan got its workflow and was delivered; the recent pending view was left to its publish.
    const delivered = await h.waitForStatus(orphan, 'succeeded');
    assert.equal(delivered.attempts, 1);
    const [req] = await h.receiver.waitFor('/orphan', 1);
    assert.equal(req.headers['webhook-id'], orphanEvent);
    await assert.rejects(
      h.stack.client.workflow.getHandle(deliveryWorkflowId(recent)).describe(),
      WorkflowNotFoundError,
    );

    // An event past the retention is not replayed: retention deletes it within a day, under any replay.
    for (const path of [`/v1/events/${e6}/replay`, `/v1/endpoints/${ep.id}/events/${e2}/resend`]) {
      const refused = await h.api('POST', path);
      assert.equal(refused.status, 409, path);
      assert.match(
        refused.body.detail,
        /is older than the project's retention \(7 days\) and is being deleted/,
      );
    }
    assert.equal((await h.api('POST', `/v1/events/${e4}/replay`)).status, 202, 'a younger one is');

    // A second pass finds nothing more to do.
    assert.deepEqual(await runRetention(), NO_RETENTION_COUNTS);
  });

  it('expunges a payload now: its deliveries stop, replays and resends answer 409, the store keeps no copy', async () => {
    h.receiver.script('/expunge', status(500));
    const ep = await h.createEndpoint('/expunge', {
      retry: {
        max_attempts: 5,
        initial_interval_ms: 60_000,
        backoff_coefficient: 1,
        max_interval_ms: 60_000,
      },
    });
    const published = await h.publish({
      event_type: 't/expunge',
      payload: { email: 'erase-me@example.com' },
    });
    const delivery = published.deliveries[0];
    await h.waitForStatus(delivery.id, 'retrying');

    const expunged = await h.api('DELETE', `/v1/events/${published.id}/payload`);
    assert.equal(expunged.status, 200, JSON.stringify(expunged.body));
    assert.equal(expunged.body.payload, null);
    assert.ok(expunged.body.payload_expunged_at);
    assert.equal(expunged.body.deliveries_cancelled, 1);
    assert.equal((await h.waitForStatus(delivery.id, 'final')).status, 'cancelled');
    const stored = await Event.collection.findOne({ _id: published.id } as never);
    assert.ok(!JSON.stringify(stored).includes('erase-me'));

    const again = await h.api('DELETE', `/v1/events/${published.id}/payload`);
    assert.equal(again.status, 200);
    assert.equal(again.body.payload_expunged_at, expunged.body.payload_expunged_at);
    assert.equal(again.body.deliveries_cancelled, 0);

    for (const [path, body] of [
      [`/v1/deliveries/${delivery.id}/replay`, undefined],
      [`/v1/endpoints/${ep.id}/events/${published.id}/resend`, undefined],
      [`/v1/events/${published.id}/replay`, undefined],
    ] as const) {
      const res = await h.api('POST', path, body);
      assert.equal(res.status, 409, path);
      assert.match(res.body.detail, /payload of event evt_\w+ was expunged on .*: there is nothing to send/);
    }
    const read = await h.api('GET', `/v1/events/${published.id}`);
    assert.equal(read.body.payload, null);
    assert.equal(h.receiver.on('/expunge').length, 1, 'one attempt before the expunge, none after');

    assert.equal((await h.api('DELETE', `/v1/events/${newId('evt')}/payload`)).status, 404);
    const other = await h.createProject('other-expunge');
    assert.equal(
      (await h.api('DELETE', `/v1/events/${published.id}/payload`, undefined, other.key)).status,
      404,
    );
  });
});

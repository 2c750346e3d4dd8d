// Large fan-outs: a publish to more than INLINE_RECIPIENTS endpoints answers before its deliveries start and
// hands them to a durable fan-out workflow; killed right after the answer, every recipient still gets
// exactly one delivery, and a repeat with the idempotency key starts nothing more. An event replay as large
// fans out the same way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { freePort } from '../../src/embedded';
import { FANOUT_PAGE_SIZE, INLINE_RECIPIENTS, startFanOutPage } from '../../src/events/fan-out';
import { useStack } from '../helpers/harness';
import { eventually } from '../helpers/stack';
import { spawnHookflow, spawnWorker } from '../helpers/worker-process';

const RECIPIENTS = INLINE_RECIPIENTS * 2 + 20;

describe('fan-out', () => {
  const h = useStack({ project: 'fan-out', worker: false });

  it('answers a large publish at once and delivers once to every recipient, through an API killed after the answer', async () => {
    const worker = await spawnWorker(h.stack, { LOG_LEVEL: 'warn' });
    const port = await freePort();
    const api = await spawnHookflow(h.stack, 'api', { HOOKFLOW_PORT: String(port), LOG_LEVEL: 'warn' });
    try {
      const paths: string[] = [];
      for (let n = 0; n < RECIPIENTS; n++) {
        paths.push(`/fan/${n}`);
        await h.createEndpoint(`/fan/${n}`, { event_types: ['fan.out'] });
      }
      const apiUrl = `http://127.0.0.1:${port}`;
      const body = { event_type: 'fan.out', payload: { big: true }, idempotency_key: 'fan-1' };
      const res = await fetch(`${apiUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 202);
      const published = (await res.json()) as {
        id: string;
        deliveries: unknown[];
        deliveries_total: number;
        deliveries_url: string;
      };
      // Killed right after the answer: the fan-out is Temporal's now.
      await api.kill('SIGKILL');
      assert.deepEqual(published.deliveries, []);
      assert.equal(published.deliveries_total, RECIPIENTS);
      assert.equal(published.deliveries_url, `/v1/deliveries?event_id=${published.id}`);

      await h.receiver.waitFor('/fan/0', 1, 60_000);
      const reached = await eventually(
        async () => new Set(h.receiver.requests.filter((r) => r.path.startsWith('/fan/')).map((r) => r.path)),
        (set) => set.size === RECIPIENTS,
        120_000,
      );
      assert.deepEqual([...reached].sort(), [...paths].sort());
      const listed = await eventually(
        () => h.api('GET', `/v1/deliveries?event_id=${published.id}&limit=250`).then((r) => r.body.data),
        (data) =>
          data.length === RECIPIENTS && data.every((d: { status: string }) => d.status === 'succeeded'),
        60_000,
      );
      assert.equal(listed.length, RECIPIENTS);

      // A repeat answers the same total and starts nothing.
      const again = await h.api('POST', '/v1/events', body);
      assert.equal(again.status, 200);
      assert.equal(again.body.deliveries_total, RECIPIENTS);
      const fanned = await h.stack.client.workflow.getHandle(`fanout-${published.id}`).result();
      assert.equal(fanned, undefined);
      const requests = h.receiver.requests.filter((r) => r.path.startsWith('/fan/'));
      assert.equal(requests.length, RECIPIENTS, 'exactly one request per recipient');

      // An event replay to as many goes the same way: answered at once, each recipient once more, every new
      // delivery descending from that endpoint's original.
      const replay = await h.api('POST', `/v1/events/${published.id}/replay`);
      assert.equal(replay.status, 202);
      assert.deepEqual(replay.body.deliveries, []);
      assert.equal(replay.body.deliveries_total, RECIPIENTS);
      assert.match(
        replay.body.deliveries_url,
        new RegExp(`^/v1/deliveries\\?event_id=${published.id}&since=`),
      );
      const originals = new Map(
        listed.map((d: { endpoint_id: string; id: string }) => [d.endpoint_id, d.id]),
      );
      const replayed = await eventually(
        () => h.api('GET', `${replay.body.deliveries_url}&limit=250`).then((r) => r.body.data),
        (data) =>
          data.length === RECIPIENTS && data.every((d: { status: string }) => d.status === 'succeeded'),
        120_000,
      );
      for (const d of replayed) {
        assert.equal(d.trigger, 'replay');
        assert.equal(d.replay_of_delivery_id, originals.get(d.endpoint_id));
      }
      const replayId: string = replay.body.replay_id;
      assert.equal(await h.stack.client.workflow.getHandle(`fanout-${replayId}`).result(), undefined);
      // A page run again (an activity retried after it started its deliveries) starts nothing twice.
      const target = { client: h.stack.client, taskQueue: h.stack.taskQueue };
      assert.equal(
        await startFanOutPage(target, { eventId: published.id, page: 0, replayId }),
        FANOUT_PAGE_SIZE,
      );
      await setTimeout(2_000);
      const perPath = new Map<string, number>();
      for (const r of h.receiver.requests) perPath.set(r.path, (perPath.get(r.path) ?? 0) + 1);
      assert.deepEqual(
        paths.filter((p) => perPath.get(p) !== 2),
        [],
        'exactly two requests per recipient: the publish and the replay',
      );
    } finally {
      await Promise.all([worker.kill('SIGTERM'), api.kill('SIGTERM')]);
    }
  });
});

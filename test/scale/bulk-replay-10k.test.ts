// Opt-in (`npm run test:scale`, minutes long): a bulk replay of 10,000 failed deliveries. The views and
// events are seeded straight into MongoDB; the operation then replays every one of them, each exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Delivery } from '../../src/deliveries/model';
import { deliveryWorkflowId } from '../../src/delivery-contract';
import { Event } from '../../src/events/model';
import { newId } from '../../src/ids';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';
import { eventually } from '../helpers/stack';

const COUNT = Number(process.env.SCALE_COUNT ?? 10_000);

describe(`bulk replay of ${COUNT} deliveries`, () => {
  const h = useStack({ project: 'scale', bulkPageSize: 100 });
  const { api } = h;

  it('replays every matching delivery once and reports progress up to the total', async () => {
    const projectId = h.projectId;
    h.receiver.script('/scale', status(200));
    const ep = await h.createEndpoint('/scale', { event_types: ['scale.test'] });
    const seeded = Date.now();
    for (let batch = 0; batch < COUNT; batch += 1000) {
      const size = Math.min(1000, COUNT - batch);
      const events = Array.from({ length: size }, (_, i) => {
        const id = newId('evt');
        return {
          _id: id,
          project_id: projectId,
          event_type: 'scale.test',
          payload_json: `{"n":${batch + i}}`,
          dedupe_key: id,
        };
      });
      await Event.insertMany(events);
      await Delivery.insertMany(
        events.map((event) => {
          const id = newId('dlv');
          return {
            _id: id,
            project_id: projectId,
            endpoint_id: ep.id,
            event_id: event._id,
            event_type: 'scale.test',
            url: h.receiver.url('/scale'),
            status: 'failed',
            attempts: 1,
            trigger: 'initial',
            workflow_id: deliveryWorkflowId(id),
          };
        }),
      );
    }
    process.stdout.write(`# seeded ${COUNT} failed deliveries in ${Date.now() - seeded} ms\n`);

    const started = Date.now();
    const op = await api('POST', '/v1/deliveries/replay', {
      filter: { endpoint_id: ep.id, status: 'failed' },
    });
    assert.equal(op.status, 202);
    const done = await eventually(
      () => api('GET', `/v1/operations/${op.body.id}`).then((r) => r.body),
      (o) => o.status !== 'running',
      30 * 60_000,
    );
    process.stdout.write(
      `# operation ${done.status} in ${Date.now() - started} ms: ${JSON.stringify(done)}\n`,
    );
    assert.equal(done.status, 'completed');
    assert.equal(done.total, COUNT);
    assert.equal(done.done, COUNT);
    assert.equal(done.replayed, COUNT);
    const received = await h.receiver.waitFor('/scale', COUNT, 60 * 60_000);
    process.stdout.write(
      `# all ${COUNT} replays received ${Date.now() - started} ms after the operation started\n`,
    );
    assert.equal(new Set(received.map((r) => r.headers['hookflow-replay-of'])).size, COUNT);
  });
});

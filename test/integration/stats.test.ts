// Statistics: the figures of GET /v1/endpoints/{id}/stats and GET /v1/stats match the deliveries made, as
// their views tell them, whatever the hour boundaries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useStack } from '../helpers/harness';
import { delayed, status } from '../helpers/receiver';

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers.
type Json = any;

/** The buckets of an answer added up. */
function total(stats: Json) {
  const sum = { succeeded: 0, failed: 0, cancelled: 0, attempts: 0, attemptsOk: 0 };
  for (const b of stats.data) {
    sum.succeeded += b.deliveries.succeeded;
    sum.failed += b.deliveries.failed;
    sum.cancelled += b.deliveries.cancelled;
    sum.attempts += b.attempts.total;
    sum.attemptsOk += b.attempts.succeeded;
  }
  return sum;
}

describe('statistics', () => {
  const h = useStack({ project: 'stats' });

  it('count deliveries by final status, attempts and their durations, per endpoint and project', async () => {
    h.receiver.script('/slow-ok', delayed(100, status(200)));
    h.receiver.script('/refuses', status(400));
    h.receiver.script('/flaky', status(500), delayed(100, status(200)));
    h.receiver.script('/down', status(503));
    const retry = { max_attempts: 3, initial_interval_ms: 100, backoff_coefficient: 1 };
    const endpoint = await h.createEndpoint('/mixed', { event_types: ['mixed'], retry });
    const other = await h.createEndpoint('/other', { event_types: ['other'] });
    // One endpoint whose URL changes between publishes, so that every behaviour counts on it.
    const ids: string[] = [];
    const publish = async (path: string, type = 'mixed') => {
      if (type === 'mixed')
        await h.api('PATCH', `/v1/endpoints/${endpoint.id}`, { url: h.receiver.url(path) });
      const published = await h.publish({ event_type: type, payload: { path } });
      ids.push(published.deliveries[0].id);
      return published.deliveries[0].id;
    };
    for (let n = 0; n < 3; n++) await h.waitForStatus(await publish('/slow-ok'), 'final');
    for (let n = 0; n < 2; n++) await h.waitForStatus(await publish('/refuses'), 'final');
    await h.waitForStatus(await publish('/flaky'), 'final');
    await h.api('PATCH', `/v1/endpoints/${endpoint.id}`, {
      retry: { max_attempts: 3, initial_interval_ms: 3_600_000 },
    });
    const cancelled = await publish('/down');
    await h.waitForStatus(cancelled, 'retrying');
    assert.equal((await h.api('POST', `/v1/deliveries/${cancelled}/cancel`)).status, 202);
    await h.waitForStatus(cancelled, 'cancelled');
    for (let n = 0; n < 2; n++) await h.waitForStatus(await publish('/other-ok', 'other'), 'final');

    // What the views say.
    const views: Json[] = await Promise.all(ids.map((id) => h.delivery(id)));
    const mixed = views.filter((v) => v.endpoint_id === endpoint.id);
    const expected = {
      succeeded: mixed.filter((v) => v.status === 'succeeded').length,
      failed: mixed.filter((v) => v.status === 'failed').length,
      cancelled: mixed.filter((v) => v.status === 'cancelled').length,
      attempts: mixed.reduce((n, v) => n + v.attempts, 0),
      attemptsOk: mixed.filter((v) => v.status === 'succeeded').length,
    };
    assert.deepEqual(expected, { succeeded: 4, failed: 2, cancelled: 1, attempts: 8, attemptsOk: 4 });

    const hourly = await h.api('GET', `/v1/endpoints/${endpoint.id}/stats`);
    assert.equal(hourly.status, 200);
    assert.equal(hourly.body.granularity, 'hour');
    assert.ok(hourly.body.data.length >= 24);
    assert.deepEqual(total(hourly.body), expected);
    const busy = hourly.body.data.filter((b: Json) => b.attempts.total > 0);
    for (const b of busy) assert.ok(b.attempt_duration_ms.p95 >= b.attempt_duration_ms.p50);
    if (busy.length === 1) {
      // Four of the eight attempts took 100 ms or more, the others a few: the median is between.
      assert.equal(busy[0].success_rate, 4 / 6);
      assert.ok(busy[0].attempt_duration_ms.p95 >= 95, JSON.stringify(busy[0]));
      assert.ok(busy[0].attempt_duration_ms.p95 < 1000, JSON.stringify(busy[0]));
    }
    const quiet = hourly.body.data.find((b: Json) => b.attempts.total === 0);
    assert.deepEqual(
      { rate: quiet.success_rate, durations: quiet.attempt_duration_ms },
      { rate: null, durations: null },
    );

    const daily = await h.api('GET', `/v1/endpoints/${endpoint.id}/stats?granularity=day`);
    assert.deepEqual(total(daily.body), expected);
    const project = await h.api('GET', '/v1/stats');
    const all = total(project.body);
    assert.equal(all.succeeded, expected.succeeded + 2);
    assert.equal(all.attempts, expected.attempts + 2);
    const otherStats = total((await h.api('GET', `/v1/endpoints/${other.id}/stats`)).body);
    assert.equal(otherStats.succeeded, 2);
  });

  it('refuses bad windows with 422 and another project’s endpoint with 404', async () => {
    const endpoint = await h.createEndpoint('/stats-bad');
    const base = `/v1/endpoints/${endpoint.id}/stats`;
    for (const query of [
      'granularity=minute',
      'since=yesterday',
      'since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z',
      'since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z',
    ]) {
      const res = await h.api('GET', `${base}?${query}`);
      assert.equal(res.status, 422, query);
      assert.equal(res.body.detail[0].loc[0], 'query');
    }
    const other = await h.createProject('stats-other');
    assert.equal((await h.api('GET', base, undefined, other.key)).status, 404);
  });
});

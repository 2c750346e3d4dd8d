// What hookflow sends and how it treats hostile receivers: secret rotation, redirects, stalls, huge bodies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';

const ONCE = { max_attempts: 1 };

describe('outbound requests', () => {
  const h = useStack({ project: 'outbound' });
  const { api, createEndpoint: endpoint, publishTo: publish, verifies } = h;
  const final = (id: string) => h.waitForStatus(id, 'final');

  it('signs with the old and the new secret during the grace period, then with the new one only', async () => {
    const ep = await endpoint('/rotate');
    const rotated = await api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { grace_period_s: 3 });
    assert.equal(rotated.status, 200);
    assert.match(rotated.body.secret, /^whsec_/);
    assert.notEqual(rotated.body.secret, ep.secret);
    await publish('/rotate');
    const [during] = await h.receiver.waitFor('/rotate', 1);
    assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
    assert.ok(verifies(ep.secret, during), 'old secret verifies during the grace period');
    assert.ok(verifies(rotated.body.secret, during), 'new secret verifies');

    await new Promise((r) => setTimeout(r, 3500));
    await publish('/rotate');
    const [, afterGrace] = await h.receiver.waitFor('/rotate', 2);
    assert.equal(String(afterGrace.headers['webhook-signature']).split(' ').length, 1);
    assert.ok(!verifies(ep.secret, afterGrace), 'old secret no longer verifies');
    assert.ok(verifies(rotated.body.secret, afterGrace));

    // Secrets appear only in the creation and rotation answers.
    for (const res of [
      await api('GET', `/v1/endpoints/${ep.id}`),
      await api('GET', '/v1/endpoints?limit=250'),
    ]) {
      const text = JSON.stringify(res.body);
      assert.ok(!text.includes(ep.secret.slice(6)) && !text.includes(rotated.body.secret.slice(6)));
    }
    const immediate = await api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { grace_period_s: 0 });
    await publish('/rotate');
    const [, , third] = await h.receiver.waitFor('/rotate', 3);
    assert.ok(verifies(immediate.body.secret, third));
    assert.ok(!verifies(rotated.body.secret, third), 'grace 0 retires the old secret at once');
    assert.equal((await api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { secret: 'nope' })).status, 422);
  });

  it('never follows redirects', async () => {
    h.receiver.script('/redirect', status(302, '', { location: h.receiver.url('/redirect-target') }));
    await endpoint('/redirect', { retry: ONCE });
    const d = await publish('/redirect');
    const view = await final(d.id);
    assert.equal(view.status, 'failed');
    assert.equal(view.last_status_code, 302);
    assert.equal(h.receiver.on('/redirect-target').length, 0);
  });

  it('times out a receiver that stalls before its headers or in its body', async () => {
    h.receiver.script('/stall-headers', () => {});
    h.receiver.script('/stall-body', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
    });
    for (const path of ['/stall-headers', '/stall-body']) {
      await endpoint(path, { retry: ONCE, timeout_ms: 500 });
      const started = Date.now();
      const view = await final((await publish(path)).id);
      assert.equal(view.status, 'failed', path);
      assert.match(view.last_error, /timed out after 500 ms/);
      assert.ok(
        view.last_duration_ms >= 450 && view.last_duration_ms < 5000,
        `${path}: ${view.last_duration_ms} ms`,
      );
      assert.ok(Date.now() - started < 15_000);
    }
  });

  it('keeps a bounded excerpt of a huge answer and reads no further', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    h.receiver.script('/huge', (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      // 32 MiB if read to the end.
      let sent = 0;
      const pump = () => {
        while (sent < 512 && res.write(chunk)) sent++;
        if (sent < 512) res.once('drain', pump);
        else res.end();
      };
      res.on('error', () => {});
      pump();
    });
    await endpoint('/huge', { retry: ONCE });
    const view = await final((await publish('/huge')).id);
    assert.equal(view.last_status_code, 500);
    assert.equal(view.last_response.length, 4096);
    const attempts = await api('GET', `/v1/deliveries/${view.id}/attempts`);
    assert.equal(attempts.body.data[0].response.length, 4096);
  });
});

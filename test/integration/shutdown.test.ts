// hookflow as it runs in production: `src/main.ts` in its own process, stopped with SIGTERM while events
// are being published and webhooks are in flight. Nothing accepted may be lost, the process must exit on
// its own, and its JSON logs must carry ids and never secrets or payloads.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { freePort } from '../../src/embedded';
import { ID_PATTERN } from '../../src/ids';
import { useStack } from '../helpers/harness';
import { spawnHookflow, spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const PAYLOAD_MARKER = `payload-marker-${randomBytes(6).toString('hex')}`;
const RECEIVER_DELAY_MS = 400;

describe('graceful shutdown', () => {
  // No worker in the test process: the hookflow process under test is the only one until it stops.
  const h = useStack({ project: 'shutdown', worker: false });
  let worker: WorkerProcess | null = null;
  let inFlight = 0;

  after(async () => {
    await worker?.kill('SIGKILL');
  });

  it('on SIGTERM answers what it accepted, finishes attempts in flight and loses nothing', async () => {
    const adminKey = `admin_${randomBytes(16).toString('hex')}`;
    const port = await freePort();
    const hookflow = await spawnHookflow(h.stack, 'all', {
      HOOKFLOW_PORT: String(port),
      HOOKFLOW_ADMIN_KEY: adminKey,
      LOG_LEVEL: 'info',
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    const api = async (path: string, key: string, body: unknown) => {
      const res = await fetch(baseUrl + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: free-form JSON answers.
      return { status: res.status, body: (await res.json()) as any };
    };
    const project = await api('/v1/projects', adminKey, { name: 'shutdown' });
    const key = project.body.api_key.key as string;
    // A portal session used, and misused: its token must reach no log either.
    const consumer = await api('/v1/consumers', key, { name: 'logs' });
    const session = await api(`/v1/consumers/${consumer.body.id}/portal-sessions`, key, {});
    const sessionToken = session.body.token as string;
    for (const token of [sessionToken, `${sessionToken}x`]) {
      await fetch(`${baseUrl}/v1/endpoints`, { headers: { authorization: `Bearer ${token}` } });
    }
    const url = h.receiver.script('/slow', (_req, res) => {
      inFlight++;
      setTimeout(() => {
        inFlight--;
        res.writeHead(200).end('ok');
      }, RECEIVER_DELAY_MS);
    });
    const endpoint = await api('/v1/endpoints', key, { url, event_types: ['load.tick'] });
    assert.equal(endpoint.status, 201);
    const secret = endpoint.body.secret as string;

    // Four publishers, each until its first refused request (bounded: 60 events each at most).
    const accepted: string[] = [];
    const refused: string[] = [];
    const answered: number[] = [];
    let sigtermAt = 0;
    const publisher = async (p: number) => {
      for (let i = 0; i < 60; i++) {
        try {
          const res = await api('/v1/events', key, {
            event_type: 'load.tick',
            payload: { marker: PAYLOAD_MARKER, p, i },
            idempotency_key: `p${p}-${i}`,
          });
          answered.push(res.status);
          if (res.status === 202) accepted.push(res.body.id);
        } catch (err) {
          refused.push(String((err as Error).cause ?? err));
          return;
        }
      }
    };
    const publishing = Promise.all([0, 1, 2, 3].map(publisher));
    const deadline = Date.now() + 60_000;
    while (accepted.length < 16 || inFlight === 0) {
      assert.ok(Date.now() < deadline, 'load never built up');
      await new Promise((r) => setTimeout(r, 10));
    }
    sigtermAt = Date.now();
    hookflow.process.kill('SIGTERM');
    const exitCode = await hookflow.exited;
    await publishing;
    assert.equal(exitCode, 0, hookflow.output());
    assert.ok(Date.now() - sigtermAt < 30_000, 'shutdown took longer than the grace period');
    // Every answer the API gave was an acceptance; requests after the close were refused, never failed.
    assert.deepEqual([...new Set(answered)], [202]);
    assert.ok(refused.length > 0, 'the closed API refused further requests');

    // The stopped worker finished the attempts it had started: none was abandoned mid-request.
    const logs = hookflow
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    assert.ok(!hookflow.output().includes('GracefulShutdownPeriodExpired'));

    // A new worker completes everything: each accepted event reaches the receiver exactly once.
    worker = await spawnWorker(h.stack, { LOG_LEVEL: 'warn' });
    const waitUntil = Date.now() + 90_000;
    const received = () => new Map(h.receiver.on('/slow').map((r) => [r.headers['webhook-id'] as string, r]));
    while (accepted.some((id) => !received().has(id))) {
      assert.ok(
        Date.now() < waitUntil,
        `${accepted.filter((id) => !received().has(id)).length} never arrived`,
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    const counts = new Map<string, number>();
    for (const r of h.receiver.on('/slow')) {
      const id = r.headers['webhook-id'] as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    assert.deepEqual(
      accepted.filter((id) => counts.get(id) !== 1),
      [],
      'an accepted event was delivered more than once',
    );
    const attemptLines = logs.filter((l) => l.msg === 'attempt finished');
    // Attempts the stopping worker finished were logged by it.
    assert.ok(attemptLines.length > 0);

    // Logs: JSON with ids, never the secret, the keys or the payload.
    for (const line of attemptLines) {
      for (const field of ['project_id', 'endpoint_id', 'event_id', 'delivery_id']) {
        assert.match(String(line[field]), ID_PATTERN, `attempt log without ${field}`);
      }
    }
    const publishLog = logs.find((l) => l.msg === 'request' && l.route === '/v1/events' && l.status === 202);
    assert.ok(publishLog, 'no request log for a publish');
    assert.match(publishLog.event_id, /^evt_/);
    assert.match(publishLog.project_id, /^prj_/);
    assert.ok(publishLog.request_id);
    // The banner prints the admin key on purpose (npm start's contract); the JSON logs never do.
    const jsonLogs = logs.map((l) => JSON.stringify(l)).join('\n');
    const everything = hookflow.output();
    for (const [what, value, text] of [
      ['signing secret', secret, everything],
      ['API key', key, everything],
      ['portal session token', sessionToken.slice(-43), everything],
      ['payload', PAYLOAD_MARKER, everything],
      ['admin key', adminKey, jsonLogs],
    ]) {
      assert.ok(!text.includes(value), `the ${what} reached the logs`);
    }
  });

  it('serves /readyz and /metrics from a worker-only process on its own port', async () => {
    const port = await freePort();
    const alone = await spawnWorker(h.stack, { HOOKFLOW_WORKER_PORT: String(port), LOG_LEVEL: 'warn' });
    try {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), {
        status: 'ready',
        mongodb: true,
        temporal: true,
        draining: false,
      });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^# TYPE hookflow_delivery_attempts_total counter$/m);
      assert.match(metrics, /^temporal_\w+/m);
      // The worker-only process is no API.
      assert.equal((await fetch(`http://127.0.0.1:${port}/v1/events`)).status, 404);
    } finally {
      await alone.kill('SIGTERM');
    }
  });
});

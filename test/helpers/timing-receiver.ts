// A receiver on its own thread, for tests that count requests per second: its clock and event loop are not
// held up by the API and the publishing in the test's main thread. Answers every request with the status
// set for its path (200 by default) and records when each arrived and its delivery id.
import { Worker } from 'node:worker_threads';

export interface Arrival {
  path: string;
  at: number;
  deliveryId: string;
  status: number;
}

const THREAD = `
const { parentPort } = require('node:worker_threads');
const { createServer } = require('node:http');
const arrivals = [];
const statuses = new Map();
const server = createServer((req, res) => {
  const at = Date.now();
  req.resume();
  req.on('end', () => {
    const status = statuses.get(req.url) ?? 200;
    arrivals.push({ path: req.url, at, deliveryId: String(req.headers['hookflow-delivery-id']), status });
    res.writeHead(status).end();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m.status) statuses.set(m.status.path, m.status.code);
  if (m.read) parentPort.postMessage({ arrivals });
  if (m.stop) server.close(() => parentPort.postMessage({ stopped: true }));
  if (m.status) parentPort.postMessage({ ok: true });
});
`;

export class TimingReceiver {
  private readonly thread = new Worker(THREAD, { eval: true });
  private readonly listening = new Promise<number>((resolve) =>
    this.thread.once('message', (m: { port: number }) => resolve(m.port)),
  );
  private port = 0;

  private ask<T>(message: object, key: string): Promise<T> {
    return new Promise((resolve) => {
      const on = (m: Record<string, unknown>) => {
        if (!(key in m)) return;
        this.thread.off('message', on);
        resolve(m[key] as T);
      };
      this.thread.on('message', on);
      this.thread.postMessage(message);
    });
  }

  async start(): Promise<this> {
    this.port = await this.listening;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Answers requests to `path` with `code` from now on. */
  answer(path: string, code: number): Promise<unknown> {
    return this.ask({ status: { path, code } }, 'ok');
  }

  async arrivals(path: string): Promise<Arrival[]> {
    return (await this.ask<Arrival[]>({ read: true }, 'arrivals')).filter((a) => a.path === path);
  }

  async stop(): Promise<void> {
    await this.ask({ stop: true }, 'stopped');
    await this.thread.terminate();
  }
}

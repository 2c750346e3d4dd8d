import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (req: ReceivedRequest, res: ServerResponse) => void;

/** A real HTTP receiver on loopback whose answers a test scripts per path (the bench's too). */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly scripts = new Map<string, Responder[]>();
  private unscripted: Responder = status(200, 'ok');
  private readonly keepRequests: boolean;
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      if (this.keepRequests) this.requests.push(received);
      const queue = this.scripts.get(received.path);
      const respond = queue && queue.length > 1 ? queue.shift() : queue?.[0];
      (respond ?? this.unscripted)(received, res);
    });
  });

  /** `keepRequests: false` keeps no request (a long benchmark's receiver). */
  constructor({ keepRequests = true } = {}) {
    this.keepRequests = keepRequests;
    // Senders keep their connections open between requests, as webhook receivers usually let them.
    this.server.keepAliveTimeout = 60_000;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** Answers requests to paths without a script (by default 200 `ok`). */
  fallback(responder: Responder): void {
    this.unscripted = responder;
  }

  /** Answers requests to `path` with these responders in turn; the last one repeats. */
  script(path: string, ...responders: Responder[]): string {
    this.scripts.set(path, responders);
    return this.url(path);
  }

  on(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async waitFor(path: string, count: number, timeoutMs = 20_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.on(path).length < count) {
      if (Date.now() > deadline)
        throw new Error(`expected ${count} requests on ${path}, got ${this.on(path).length}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.on(path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function status(code: number, body = '', headers: Record<string, string> = {}): Responder {
  return (_req, res) => {
    res.writeHead(code, headers);
    res.end(body);
  };
}

/** Answers like `responder`, `ms` after the request arrived. */
export function delayed(ms: number, responder: Responder): Responder {
  return (req, res) => {
    setTimeout(() => responder(req, res), ms);
  };
}

// The one set-up of every integration test file: `useStack()` inside a `describe` starts the real servers
// (test/helpers/stack.ts), a loopback receiver and a project before the file's tests, stops them after, and
// offers what the tests do over and over: create endpoints, publish, wait for a status, verify a signature.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { after, before } from 'node:test';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { type DeliveryStatus, FINAL_STATUSES } from '../../src/deliveries/status';
import { SearchAttributes, statusInTemporal } from '../../src/delivery-contract';
import { type ReceivedRequest, Receiver } from './receiver';
import { type ApiResponse, eventually, type Stack, type StackOptions, startStack } from './stack';

// biome-ignore lint/suspicious/noExplicitAny: tests read free-form JSON answers and assert on their fields.
type Json = any;

export interface Harness {
  readonly stack: Stack;
  readonly receiver: Receiver;
  /** The project made for this file, and its API key. */
  readonly projectId: string;
  readonly key: string;
  /** A request to the API, with this file's project key unless another is given (`null`: none). */
  api(method: string, path: string, body?: unknown, key?: string | null): Promise<ApiResponse>;
  createProject(name?: string): Promise<{ id: string; key: string }>;
  /**
   * An endpoint on the receiver at `path`, subscribed to the event type `t<path>` unless `settings` say
   * otherwise; fails the test unless it is created.
   */
  createEndpoint(path: string, settings?: object, key?: string): Promise<Json>;
  /** Publishes an event (202 expected) and returns the answer. */
  publish(body: object, key?: string): Promise<Json>;
  /** Publishes an event of type `t<path>` and returns its first delivery. */
  publishTo(path: string, payload?: unknown, key?: string): Promise<Json>;
  delivery(id: string, key?: string): Promise<Json>;
  /** Waits until the delivery's view has `status` (`final`: any final status) and returns the view. */
  waitForStatus(id: string, status: DeliveryStatus | 'final', timeoutMs?: number): Promise<Json>;
  /** Waits until the bulk operation's answer satisfies `done` and returns it. */
  waitForOperation(id: string, done: (operation: Json) => boolean, timeoutMs?: number): Promise<Json>;
  /** Waits until the delivery's workflow has closed; returns how, and its HookflowDeliveryStatus. */
  closedWorkflow(workflowId: string): Promise<{ description: WorkflowExecutionDescription; status: string }>;
  /** Verifies a received request's signature with the official `standardwebhooks` package; throws if bad. */
  verifySignature(secret: string, req: ReceivedRequest): unknown;
  /** Whether the request's signature verifies with `secret`. */
  verifies(secret: string, req: ReceivedRequest): boolean;
  /**
   * Whether one of the request's `v1a` signatures verifies with an ed25519 endpoint's `public_key` (Standard
   * Webhooks: ed25519 over id.timestamp.body; the npm `standardwebhooks` verifies only `v1`).
   */
  verifiesPublicKey(publicKey: string, req: ReceivedRequest): boolean;
}

export interface HarnessOptions extends StackOptions {
  /** Name of the project made for this file. */
  project?: string;
}

export function useStack(options: HarnessOptions = {}): Harness {
  let stack: Stack | undefined;
  let receiver: Receiver | undefined;
  let project: { id: string; key: string } | undefined;
  before(async () => {
    [stack, receiver] = await Promise.all([startStack(options), new Receiver().start()]);
    project = await stack.newProject(options.project ?? 'test');
  });
  after(async () => {
    await Promise.all([stack?.stop(), receiver?.stop()]);
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the stack is not started: use it inside a test or hook');
    return value;
  };

  const harness: Harness = {
    get stack() {
      return started(stack);
    },
    get receiver() {
      return started(receiver);
    },
    get projectId() {
      return started(project).id;
    },
    get key() {
      return started(project).key;
    },
    api(method, path, body, withKey) {
      const k = withKey === undefined ? harness.key : withKey;
      return harness.stack.request(method, path, { key: k ?? undefined, body });
    },
    createProject: (name) => harness.stack.newProject(name),
    async createEndpoint(path, settings = {}, withKey) {
      const res = await harness.api(
        'POST',
        '/v1/endpoints',
        { url: harness.receiver.url(path), event_types: [`t${path}`], ...settings },
        withKey,
      );
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    },
    async publish(body, withKey) {
      const res = await harness.api('POST', '/v1/events', body, withKey);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body;
    },
    async publishTo(path, payload = { path }, withKey) {
      return (await harness.publish({ event_type: `t${path}`, payload }, withKey)).deliveries[0];
    },
    delivery: (id, withKey) =>
      harness.api('GET', `/v1/deliveries/${id}`, undefined, withKey).then((r) => r.body),
    waitForStatus: (id, status, timeoutMs = 30_000) =>
      eventually(
        () => harness.delivery(id),
        (d) => (status === 'final' ? FINAL_STATUSES.includes(d?.status) : d?.status === status),
        timeoutMs,
      ),
    waitForOperation: (id, done, timeoutMs = 30_000) =>
      eventually(() => harness.api('GET', `/v1/operations/${id}`).then((r) => r.body), done, timeoutMs),
    async closedWorkflow(workflowId) {
      const handle = harness.stack.client.workflow.getHandle(workflowId);
      const description = await eventually(
        () => handle.describe(),
        (d) => d.status.name !== 'RUNNING',
      );
      const status = statusInTemporal(
        description.status.name,
        description.typedSearchAttributes.get(SearchAttributes.status) as string | undefined,
      ) as string;
      return { description, status };
    },
    verifySignature: (secret, req) =>
      new Webhook(secret).verify(req.body, {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      }),
    verifies(secret, req) {
      try {
        harness.verifySignature(secret, req);
        return true;
      } catch {
        return false;
      }
    },
    verifiesPublicKey(publicKey, req) {
      const key = createPublicKey({
        key: {
          kty: 'OKP',
          crv: 'Ed25519',
          x: Buffer.from(publicKey.slice(5), 'base64').toString('base64url'),
        },
        format: 'jwk',
      });
      const content = Buffer.from(
        `${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`,
      );
      return String(req.headers['webhook-signature'])
        .split(' ')
        .filter((s) => s.startsWith('v1a,'))
        .some((s) => verify(null, content, key, Buffer.from(s.slice(4), 'base64')));
    },
  };
  return harness;
}

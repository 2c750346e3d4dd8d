// One webhook request: the headers (the endpoint's, the event's, then hookflow's signed ones), the SSRF check
// on an address in the URL, the request through the guarded undici dispatcher, and the answer's excerpt.
import { isIP } from 'node:net';
import { type Dispatcher, request } from 'undici';
import type { DeliveryDoc } from '../src/deliveries/model';
import { signingKeys } from '../src/endpoints/credentials';
import type { EndpointDoc } from '../src/endpoints/model';
import type { EventDoc } from '../src/events/model';
import { signatureHeader } from '../src/signing';
import { BlockedTargetError, isPublicAddress, urlHost } from '../src/target-policy';
import type { RequestOutcome } from './classify';

export const USER_AGENT = `hookflow/${process.env.npm_package_version ?? '0.1.0'}`;
/** Bytes of a receiver's answer kept on the attempt and the view; the rest is read no further. */
export const RESPONSE_EXCERPT_BYTES = 4096;

/** Headers that neither endpoint settings nor event headers may set. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'hookflow-event-type',
  'hookflow-delivery-id',
  'hookflow-attempt',
  'hookflow-replay-of',
]);

export interface RequestDeps {
  dispatcher: Dispatcher;
  allowPrivateTargets: boolean;
}

/** Makes attempt number `attempt` of `delivery` at `at`: never throws, every failure is in the outcome. */
export function sendWebhookRequest(
  deps: RequestDeps,
  endpoint: EndpointDoc,
  event: EventDoc,
  delivery: DeliveryDoc,
  attempt: number,
  at: Date,
): Promise<RequestOutcome> {
  const headers = requestHeaders(endpoint, event, delivery, attempt, at);
  return post(deps, endpoint.url, headers, event.payload_json, endpoint.timeout_ms);
}

/** The outgoing headers: the endpoint's and the event's own, then ours, which they cannot override. */
function requestHeaders(
  endpoint: EndpointDoc,
  event: EventDoc,
  delivery: DeliveryDoc,
  attempt: number,
  at: Date,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of [
    ...Object.entries(endpoint.headers ?? {}),
    ...Object.entries(event.headers ?? {}),
  ]) {
    if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  const timestamp = Math.floor(at.getTime() / 1000);
  Object.assign(headers, {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': event._id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(signingKeys(endpoint, at), event._id, timestamp, event.payload_json),
    'hookflow-event-type': event.event_type,
    'hookflow-delivery-id': delivery._id,
    'hookflow-attempt': String(attempt),
  });
  if (delivery.replay_of_delivery_id) headers['hookflow-replay-of'] = delivery.replay_of_delivery_id;
  return headers;
}

async function post(
  { dispatcher, allowPrivateTargets }: RequestDeps,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<RequestOutcome> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    // Names are checked by the dispatcher's guarded lookup; an address in the URL never goes through it.
    const host = urlHost(url);
    if (!allowPrivateTargets && isIP(host) && !isPublicAddress(host))
      throw new BlockedTargetError(host, host);
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      dispatcher,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const response = await readExcerpt(res.body);
    const retryAfter = res.headers['retry-after'];
    return {
      statusCode: res.statusCode,
      error: null,
      errorMessage: null,
      response,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    const blocked = [err, (err as { cause?: unknown }).cause].find((e) => e instanceof BlockedTargetError);
    if (blocked) {
      return {
        statusCode: null,
        error: 'blocked',
        errorMessage: `blocked by the SSRF guard: ${(blocked as Error).message}`,
        response: null,
        retryAfter: undefined,
        durationMs: 0,
      };
    }
    const timedOut = signal.aborted || (err as { code?: string }).code?.includes('TIMEOUT') === true;
    return {
      statusCode: null,
      error: timedOut ? 'timeout' : 'network',
      errorMessage: timedOut ? `timed out after ${timeoutMs} ms` : `network error: ${(err as Error).message}`,
      response: null,
      retryAfter: undefined,
      durationMs: Math.round(performance.now() - started),
    };
  }
}

/** Reads at most RESPONSE_EXCERPT_BYTES of the body, then drops the connection's remaining bytes. */
async function readExcerpt(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= RESPONSE_EXCERPT_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
}

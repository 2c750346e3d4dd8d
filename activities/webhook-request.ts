// One webhook request: the headers (the endpoint's, the event's, then hookflow's signed ones and the
// endpoint's credentials), the SSRF check on an address in the URL (on every name too when an egress proxy
// resolves them), the request through the guarded undici dispatcher, and the answer's excerpt.
import { isIP } from 'node:net';
import type { Attributes } from '@opentelemetry/api';
import { type Dispatcher, request as undiciRequest } from 'undici';
import type { DeliveryDoc } from '../src/deliveries/model';
import { deliveryAttributes } from '../src/deliveries/start';
import { type OutboundAuth, openAuth, signingKeys } from '../src/endpoints/credentials';
import type { EndpointDoc } from '../src/endpoints/model';
import type { EventDoc } from '../src/events/model';
import { signatureHeader } from '../src/signing';
import { BlockedTargetError, blockedAddress, isPublicAddress, urlHost } from '../src/target-policy';
import { inSpan, SpanKind, traceHeaders } from '../src/tracing';
import type { RequestOutcome } from './classify';
import { type FetchedToken, type OAuthTokens, TokenError } from './oauth-tokens';

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
  /**
   * The dispatcher goes through an egress proxy (HOOKFLOW_EGRESS_PROXY), which resolves names itself: the SSRF
   * guard then resolves each target's name here first.
   */
  viaProxy: boolean;
}

/** An event whose payload is still there. */
export type SendableEvent = EventDoc & { payload_json: string };

/** Makes attempt number `attempt` of `delivery` at `at`: never throws, every failure is in the outcome. */
export async function sendWebhookRequest(
  deps: RequestDeps & { tokens: OAuthTokens },
  endpoint: EndpointDoc,
  event: SendableEvent,
  delivery: DeliveryDoc,
  attempt: number,
  at: Date,
): Promise<RequestOutcome> {
  const headers = requestHeaders(endpoint, event, delivery, attempt, at);
  // Token requests and the webhook request share the endpoint's timeout: an attempt never takes longer.
  const started = performance.now();
  const left = () => Math.max(1, Math.round(endpoint.timeout_ms - (performance.now() - started)));
  const traced = () => ({ ...deliveryAttributes(delivery), 'hookflow.attempt': attempt });
  const send = (authorization: Record<string, string>) =>
    post(deps, endpoint.url, { ...headers, ...authorization }, event.payload_json, left(), traced, {
      forwardTrace: endpoint.forward_trace_context === true,
    });
  const auth = endpoint.auth ? openAuth(endpoint.auth) : null;
  if (auth?.type !== 'oauth2_client_credentials') return send(auth ? credentialHeader(auth) : {});
  // A token is used until it expires; a 401 says it no longer holds: fetched anew, and the request made once more.
  const token = (renew: boolean) => deps.tokens.get(endpoint._id, auth, left(), { renew });
  // `post` never throws: what is caught here is the token request's failure.
  try {
    const first = await send({ authorization: `Bearer ${await token(false)}` });
    if (first.statusCode !== 401) return first;
    const second = await send({ authorization: `Bearer ${await token(true)}` });
    return { ...second, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    return failedOutcome(err, false, endpoint.timeout_ms, started, 'the OAuth2 token request failed: ');
  }
}

/** The header of a static credential. */
function credentialHeader(auth: Exclude<OutboundAuth, { type: 'oauth2_client_credentials' }>) {
  if (auth.type === 'basic')
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  if (auth.type === 'bearer') return { authorization: `Bearer ${auth.token}` };
  return { [auth.name.toLowerCase()]: auth.value };
}

/** Throws BlockedTargetError when the SSRF guard refuses `url` before any connection is made. */
async function checkTarget({ allowPrivateTargets, viaProxy }: RequestDeps, url: string): Promise<void> {
  if (allowPrivateTargets) return;
  // Names are checked by the dispatcher's guarded lookup, unless a proxy resolves them; an address in the URL
  // never goes through a lookup.
  const host = urlHost(url);
  if (isIP(host)) {
    if (!isPublicAddress(host)) throw new BlockedTargetError(host, host);
  } else if (viaProxy) {
    const blocked = await blockedAddress(url);
    if (blocked) throw new BlockedTargetError(host, blocked);
  }
}

/** Answers of a token endpoint are small: more than this is not one. */
const TOKEN_RESPONSE_BYTES = 64 * 1024;

/** The client-credentials grant (RFC 6749 §4.4), the client authenticated with HTTP Basic (§2.3.1). */
export function tokenFetcher(deps: RequestDeps) {
  return async (
    auth: Extract<OutboundAuth, { type: 'oauth2_client_credentials' }>,
    timeoutMs: number,
  ): Promise<FetchedToken> => {
    await checkTarget(deps, auth.token_url);
    const client = `${encodeURIComponent(auth.client_id)}:${encodeURIComponent(auth.client_secret)}`;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope) form.set('scope', auth.scope);
    const res = await undiciRequest(auth.token_url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        'user-agent': USER_AGENT,
        authorization: `Basic ${Buffer.from(client).toString('base64')}`,
      },
      body: form.toString(),
      dispatcher: deps.dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await readExcerpt(res.body, TOKEN_RESPONSE_BYTES);
    if (res.statusCode !== 200) throw new TokenError(`the token endpoint answered HTTP ${res.statusCode}`);
    let answer: { access_token?: unknown; expires_in?: unknown };
    try {
      answer = JSON.parse(text);
    } catch {
      throw new TokenError('the token endpoint answered something other than JSON');
    }
    if (typeof answer?.access_token !== 'string' || !/^[\x21-\x7e]+$/.test(answer.access_token))
      throw new TokenError('the token endpoint answered no usable access_token');
    const expiresIn = Number(answer.expires_in);
    return {
      accessToken: answer.access_token,
      expiresInS: Number.isFinite(expiresIn) && expiresIn >= 0 ? expiresIn : null,
    };
  };
}

/** The outgoing headers: the endpoint's and the event's own, then ours, which they cannot override. */
function requestHeaders(
  endpoint: EndpointDoc,
  event: SendableEvent,
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

/** The webhook request, in a client span when tracing is on: the receiver's host and port, never its path. */
function post(
  deps: RequestDeps,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  attributes: () => Attributes,
  { forwardTrace }: { forwardTrace: boolean },
): Promise<RequestOutcome> {
  const spanOptions = () => {
    const { hostname, port, protocol } = new URL(url);
    const where = {
      'server.address': hostname,
      'server.port': Number(port) || (protocol === 'https:' ? 443 : 80),
    };
    return {
      kind: SpanKind.CLIENT,
      attributes: { ...attributes(), ...where, 'http.request.method': 'POST' },
    };
  };
  return inSpan('POST webhook', spanOptions, async (span) => {
    // Forwarded trace context wins over an endpoint's or event's own traceparent header.
    const sent = forwardTrace ? { ...headers, ...traceHeaders(span) } : headers;
    const outcome = await exchange(deps, url, sent, body, timeoutMs);
    span?.setAttributes({
      ...(outcome.statusCode !== null ? { 'http.response.status_code': outcome.statusCode } : {}),
      ...(outcome.error ? { 'error.type': outcome.error } : {}),
    });
    return outcome;
  });
}

async function exchange(
  deps: RequestDeps,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<RequestOutcome> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    await checkTarget(deps, url);
    const res = await undiciRequest(url, {
      method: 'POST',
      headers,
      body,
      dispatcher: deps.dispatcher,
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
    return failedOutcome(err, signal.aborted, timeoutMs, started);
  }
}

/** A request that got no answer: blocked by the SSRF guard (not retried), timed out, or a network error. */
function failedOutcome(
  err: unknown,
  aborted: boolean,
  timeoutMs: number,
  started: number,
  context = '',
): RequestOutcome {
  const failed = { statusCode: null, response: null, retryAfter: undefined };
  const blocked = [err, (err as { cause?: unknown }).cause].find((e) => e instanceof BlockedTargetError);
  if (blocked)
    return {
      ...failed,
      error: 'blocked',
      errorMessage: `${context}blocked by the SSRF guard: ${(blocked as Error).message}`,
      durationMs: 0,
    };
  const timedOut =
    aborted ||
    (err as { code?: string }).code?.includes('TIMEOUT') === true ||
    (err as Error).name === 'TimeoutError';
  const why = err instanceof TokenError ? err.message : `network error: ${(err as Error).message}`;
  return {
    ...failed,
    error: timedOut ? 'timeout' : 'network',
    errorMessage: `${context}${timedOut ? `timed out after ${timeoutMs} ms` : why}`,
    durationMs: Math.round(performance.now() - started),
  };
}

/** Reads at most `limit` bytes of the body, then drops the connection's remaining bytes. */
async function readExcerpt(
  body: Dispatcher.ResponseData['body'],
  limit = RESPONSE_EXCERPT_BYTES,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

// The consumer portal: a consumer's endpoints, deliveries and events, through the REST API with the
// portal session the page was opened with. Preact + htm, served as ES modules from their npm packages.
import htm from 'htm';
import { createContext, h, render } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';

const html = htm.bind(h);
const TOKEN_KEY = 'hookflow.portal.token';
const FINAL = ['succeeded', 'failed', 'cancelled'];

// The session link carries the token in its fragment (never sent to a server); it moves into this tab's
// storage at once and the address bar and history keep only /portal.
function takeToken() {
  const match = /[#&]token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', `${location.pathname}#/endpoints`);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}
const token = takeToken();
// A new link opened in the same tab changes only the fragment: start over with its session.
addEventListener('hashchange', () => {
  if (/[#&]token=/.test(location.hash)) {
    takeToken();
    location.reload();
  }
});

class Problem extends Error {}

/** The session the page was opened with (GET /v1/portal-session): a read-only one hides every action. */
const Session = createContext({ read_only: false });
const useReadOnly = () => useContext(Session).read_only;

/** JSON typed into a form, or a Problem that says which field is wrong. */
function parseJson(text, field) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Problem(`${field}: not valid JSON (${err.message})`);
  }
}

const FIELD_NAMES = {
  url: 'URL',
  event_types: 'Event types',
  description: 'Description',
  channels: 'Channels',
  headers: 'Custom headers',
  rate_limit_per_s: 'Rate limit',
  auth: 'Authentication',
  forward_trace_context: 'Trace context',
  filter: 'Payload filter',
  payload: 'Sample payload',
  event_type: 'Event type',
};
/** The form's words for the authentication fields the API names. */
const AUTH_FIELDS = {
  username: 'username',
  password: 'password',
  token: 'token',
  name: 'header name',
  value: 'header value',
  token_url: 'token URL',
  client_id: 'client ID',
  client_secret: 'client secret',
  scope: 'scope',
};

/** An API error in words: the field and what is wrong with it, never raw JSON. */
function inWords(status, body) {
  if (status === 401) return 'This portal link has expired or was revoked. Ask for a new one.';
  if (status === 403) return 'This action is not available in the portal.';
  if (Array.isArray(body?.detail)) {
    return body.detail
      .map((d) => {
        const [, field, part] = d.loc ?? [];
        const name = FIELD_NAMES[field] ?? field ?? 'Request';
        // A field inside one: the authentication's password, the header a custom header names.
        const inner = field === 'auth' ? AUTH_FIELDS[part] : field === 'headers' ? part : undefined;
        return `${inner ? `${name} ${inner}` : name}: ${d.msg}`;
      })
      .join('. ');
  }
  if (typeof body?.detail === 'string') return body.detail.charAt(0).toUpperCase() + body.detail.slice(1);
  if (status >= 500) return 'The service cannot answer right now. Try again in a moment.';
  return `The request failed (HTTP ${status}).`;
}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Problem('The service cannot be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {}
  if (!res.ok) throw new Problem(inWords(res.status, data));
  return data;
}

/** Every page of a list, for the short ones (the event-type catalogue). */
async function everyPage(path) {
  const rows = [];
  let cursor = null;
  do {
    const page = await api(
      'GET',
      `${path}?limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    rows.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return rows;
}

/** Loads `load()` when its dependencies change; `reload` loads again. */
function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const run = useCallback(() => {
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => setState({ loading: false, data, error: null }),
      (err) => setState({ loading: false, data: null, error: err.message }),
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

function useRoute() {
  const [hash, setHash] = useState(location.hash || '#/endpoints');
  useEffect(() => {
    const onChange = () => setHash(location.hash || '#/endpoints');
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  const [path, query = ''] = hash.slice(1).split('?');
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(query) };
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const Badge = ({ value }) => html`<span class=${`badge ${value}`}>${value.replace('_', ' ')}</span>`;
const Spinner = ({ label = 'Loading…' }) =>
  html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${label}</p>`;
const Alert = ({ message }) => (message ? html`<div class="alert" role="alert">${message}</div>` : null);

/** A button that runs an action, shows it is busy, and reports its error or notice. */
function Action({ label, run, kind = '', onDone, confirm: question }) {
  const [busy, setBusy] = useState(false);
  const click = async () => {
    if (question && !window.confirm(question)) return;
    setBusy(true);
    try {
      const result = await run();
      onDone?.(result, null);
    } catch (err) {
      onDone?.(null, err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<button type="button" class=${kind} disabled=${busy} aria-busy=${busy} onClick=${click}>
    ${busy ? 'Working…' : label}
  </button>`;
}

// --- endpoints ----------------------------------------------------------------------------------------

/** The last 7 days of an endpoint's statistics, added up. */
async function weekOf(endpointId) {
  const since = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const stats = await api('GET', `/v1/endpoints/${endpointId}/stats?granularity=day&since=${since}`);
  const sum = { succeeded: 0, failed: 0, attempts: 0, p95: null };
  for (const day of stats.data) {
    sum.succeeded += day.deliveries.succeeded;
    sum.failed += day.deliveries.failed;
    sum.attempts += day.attempts.total;
    if (day.attempt_duration_ms) sum.p95 = Math.max(sum.p95 ?? 0, day.attempt_duration_ms.p95);
  }
  const ended = sum.succeeded + sum.failed;
  return { ...sum, rate: ended === 0 ? '—' : `${Math.round((100 * sum.succeeded) / ended)}\u00a0%` };
}

/** A page of endpoints, each with its success rate over the last 7 days. */
async function endpointPage(cursor) {
  const page = await api('GET', `/v1/endpoints?limit=25${cursor ? `&cursor=${cursor}` : ''}`);
  const data = await Promise.all(page.data.map(async (ep) => ({ ...ep, rate: (await weekOf(ep.id)).rate })));
  return { data, next_cursor: page.next_cursor };
}

/** The endpoint's circuit breaker, in words. */
function Health({ circuit }) {
  if (circuit.state === 'closed') return html`<${Badge} value="healthy" />`;
  const since = when(circuit.opened_at ?? circuit.since);
  const next = circuit.next_probe_at ? ` The next try is at ${when(circuit.next_probe_at)}.` : '';
  const label = circuit.state === 'open' ? 'failing' : 'being tried';
  return html`<${Badge} value=${label} /> Failing since ${since}: new deliveries wait and none is lost.${next}`;
}

function EndpointsPage() {
  const readOnly = useReadOnly();
  const [extra, setExtra] = useState({ rows: [], cursor: undefined, loading: false, error: null });
  const first = useLoad(() => endpointPage(null), []);
  const cursor = extra.cursor === undefined ? first.data?.next_cursor : extra.cursor;
  const loadMore = async () => {
    setExtra({ ...extra, loading: true, error: null });
    try {
      const page = await endpointPage(cursor);
      setExtra({
        rows: [...extra.rows, ...page.data],
        cursor: page.next_cursor,
        loading: false,
        error: null,
      });
    } catch (err) {
      setExtra({ ...extra, loading: false, error: err.message });
    }
  };
  const endpoints = { ...first, data: first.data ? [...first.data.data, ...extra.rows] : null };
  return html`
    <div class="row spread"><h1>Endpoints</h1>${readOnly ? null : html`<a class="button primary" href="#/endpoints/new">Add endpoint</a>`}</div>
    <${Alert} message=${endpoints.error} />
    ${endpoints.loading && !endpoints.data ? html`<${Spinner} />` : null}
    ${endpoints.data?.length === 0 ? html`<p class="empty">No endpoints yet. Add one to start receiving webhooks.</p>` : null}
    ${
      endpoints.data?.length
        ? html`<table class="stack">
        <thead><tr><th scope="col">URL</th><th scope="col">Status</th><th scope="col">Event types</th><th scope="col">Health</th><th scope="col">Success (7 days)</th></tr></thead>
        <tbody>
          ${endpoints.data.map(
            (ep) => html`<tr key=${ep.id}>
              <td class="url" data-label="URL"><a href=${`#/endpoints/${ep.id}`}>${ep.url}</a>
                ${ep.description ? html`<div class="hint">${ep.description}</div>` : null}</td>
              <td data-label="Status"><${Badge} value=${ep.status} /></td>
              <td data-label="Event types">${ep.event_types.length ? ep.event_types.join(', ') : 'All'}</td>
              <td data-label="Health"><${Badge} value=${ep.circuit.state === 'closed' ? 'healthy' : 'failing'} /></td>
              <td data-label="Success (7 days)">${ep.rate}</td>
            </tr>`,
          )}
        </tbody>
      </table>`
        : null
    }
    <${Alert} message=${extra.error} />
    ${cursor ? html`<p><button type="button" onClick=${loadMore} disabled=${extra.loading}>${extra.loading ? 'Loading…' : 'Load more'}</button></p>` : null}`;
}

/**
 * Event types offered by the picker: the project's catalogue, and those of this consumer's latest deliveries
 * (one indexed page, whatever the number of deliveries stored).
 */
function useKnownTypes() {
  return useLoad(async () => {
    const [catalogue, deliveries] = await Promise.all([
      everyPage('/v1/event-types'),
      api('GET', '/v1/deliveries?limit=250'),
    ]);
    return [
      ...new Set([...catalogue.map((t) => t.name), ...deliveries.data.map((d) => d.event_type)]),
    ].sort();
  }, []);
}

/** How hookflow may authenticate to the consumer's receiver, and what each way asks for (secret ones hidden). */
const AUTH_TYPES = {
  none: { label: 'None', inputs: [] },
  basic: {
    label: 'Basic (username and password)',
    inputs: [
      { key: 'username', label: 'Username' },
      { key: 'password', label: 'Password', secret: true },
    ],
  },
  bearer: { label: 'Bearer token', inputs: [{ key: 'token', label: 'Token', secret: true }] },
  header: {
    label: 'A header of your own',
    inputs: [
      { key: 'name', label: 'Header name' },
      { key: 'value', label: 'Header value', secret: true },
    ],
  },
  oauth2_client_credentials: {
    label: 'OAuth 2.0 client credentials',
    inputs: [
      { key: 'token_url', label: 'Token URL', type: 'url' },
      { key: 'client_id', label: 'Client ID' },
      { key: 'client_secret', label: 'Client secret', secret: true },
      { key: 'scope', label: 'Scope', optional: true },
    ],
  },
};

function authInWords(auth) {
  if (!auth) return 'None';
  if (auth.type === 'header') return `The header ${auth.name}`;
  if (auth.type === 'oauth2_client_credentials')
    return `OAuth 2.0 token from ${auth.token_url}${auth.scope ? ` (scope ${auth.scope})` : ''}`;
  return AUTH_TYPES[auth.type]?.label ?? auth.type;
}

const commaList = (text) => [
  ...new Set(
    text
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  ),
];

/**
 * The delivery settings as the form holds them. Saved credentials are never shown: only the parts that
 * are no secret (a header's name, a token URL, a scope) come back to fill their inputs.
 */
function settingsOf(endpoint) {
  const { type = 'none', ...shown } = endpoint?.auth ?? {};
  return {
    channels: (endpoint?.channels ?? []).join(', '),
    rateLimit: endpoint?.rate_limit_per_s == null ? '' : String(endpoint.rate_limit_per_s),
    headers: Object.entries(endpoint?.headers ?? {}).map(([name, value]) => ({ name, value })),
    traceContext: endpoint?.forward_trace_context ?? false,
    filter: endpoint?.filter ? JSON.stringify(endpoint.filter, null, 2) : '',
    authType: type,
    auth: shown,
  };
}

/** Whether the form replaces the endpoint's authentication (all of it, as the API takes it whole). */
function authChanged(settings, endpoint) {
  const saved = settingsOf(endpoint);
  if (settings.authType !== saved.authType) return true;
  return AUTH_TYPES[settings.authType].inputs.some(
    ({ key }) => (settings.auth[key] ?? '') !== (saved.auth[key] ?? ''),
  );
}

function settingsBody(settings, endpoint) {
  const body = {
    channels: commaList(settings.channels),
    headers: Object.fromEntries(
      settings.headers.filter((h) => h.name.trim()).map((h) => [h.name.trim(), h.value]),
    ),
    rate_limit_per_s: settings.rateLimit.trim() === '' ? null : Number(settings.rateLimit),
    forward_trace_context: settings.traceContext,
    filter: settings.filter.trim() ? parseJson(settings.filter, 'Payload filter') : null,
  };
  if (authChanged(settings, endpoint)) {
    if (settings.authType === 'none') body.auth = null;
    else {
      body.auth = { type: settings.authType };
      for (const { key } of AUTH_TYPES[settings.authType].inputs)
        if (settings.auth[key]) body.auth[key] = settings.auth[key];
    }
  }
  return body;
}

/** Whether an event like a sample would pass the filter being typed (the API evaluates it, as at publish). */
function FilterTry({ endpoint, filterText }) {
  const [sample, setSample] = useState('{\n  \n}');
  const [eventType, setEventType] = useState(endpoint.event_types.find((t) => !t.includes('*')) ?? '');
  const [result, setResult] = useState({ matches: null, error: null });
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      const { matches } = await api('POST', `/v1/endpoints/${endpoint.id}/filter/test`, {
        payload: parseJson(sample, 'Sample payload'),
        ...(eventType.trim() ? { event_type: eventType.trim() } : {}),
        filter: filterText.trim() ? parseJson(filterText, 'Payload filter') : null,
      });
      setResult({ matches, error: null });
    } catch (err) {
      setResult({ matches: null, error: err.message });
    } finally {
      setBusy(false);
    }
  };
  return html`<fieldset class="try"><legend>Try the filter <span class="hint">(on an event you describe; nothing is sent)</span></legend>
    <div class="field"><label for="try-type">Event type</label>
      <input id="try-type" value=${eventType} onInput=${(e) => setEventType(e.target.value)} /></div>
    <div class="field"><label for="try-payload">Sample payload</label>
      <textarea id="try-payload" class="code" rows="3" spellcheck="false" value=${sample}
        onInput=${(e) => setSample(e.target.value)}></textarea></div>
    <button type="button" disabled=${busy} aria-busy=${busy} onClick=${run}>${busy ? 'Trying…' : 'Try the filter'}</button>
    <div role="status" class="try-result">${
      result.matches === null
        ? null
        : result.matches
          ? 'Matches: an event like this one is sent to the endpoint.'
          : 'Does not match: an event like this one is not sent to the endpoint.'
    }</div>
    <${Alert} message=${result.error} />
  </fieldset>`;
}

/** Channels, a payload filter, custom headers, a rate limit, how hookflow authenticates, trace context. */
function DeliverySettings({ endpoint, settings, onChange }) {
  const set = (change) => onChange({ ...settings, ...change });
  const setHeader = (i, change) =>
    set({ headers: settings.headers.map((h, j) => (j === i ? { ...h, ...change } : h)) });
  const replacing = authChanged(settings, endpoint);
  const saved = endpoint?.auth;
  const open =
    endpoint &&
    (endpoint.channels.length > 0 ||
      Object.keys(endpoint.headers ?? {}).length > 0 ||
      endpoint.rate_limit_per_s != null ||
      saved ||
      endpoint.forward_trace_context ||
      endpoint.filter);
  return html`<details class="more" open=${open}>
    <summary>Delivery settings <span class="hint">(channels, filter, headers, rate limit, authentication)</span></summary>
    <div class="field"><label for="ep-channels">Channels <span class="hint">(comma separated; none: events on any channel or none)</span></label>
      <input id="ep-channels" value=${settings.channels} onInput=${(e) => set({ channels: e.target.value })} /></div>
    <div class="field"><label for="ep-rate">Rate limit <span class="hint">(requests a second at most; empty: no limit)</span></label>
      <input id="ep-rate" type="number" min="1" max="10000" step="1" inputmode="numeric" value=${settings.rateLimit}
        onInput=${(e) => set({ rateLimit: e.target.value })} /></div>
    <div class="field"><label for="ep-filter">Payload filter <span class="hint">(optional: only events matching this
      MongoDB-style query over <code>event_type</code>, <code>payload</code> and <code>headers</code>, e.g.
      <code>{"payload.amount": {"$gte": 100}}</code>)</span></label>
      <textarea id="ep-filter" class="code" rows="3" spellcheck="false" value=${settings.filter}
        onInput=${(e) => set({ filter: e.target.value })}></textarea></div>
    ${endpoint ? html`<${FilterTry} endpoint=${endpoint} filterText=${settings.filter} />` : null}
    <fieldset><legend>Custom headers <span class="hint">(sent with every request)</span></legend>
      ${settings.headers.map(
        (header, i) => html`<div class="pair" key=${i}>
          <input aria-label=${`Header ${i + 1} name`} placeholder="X-Header-Name" value=${header.name}
            onInput=${(e) => setHeader(i, { name: e.target.value })} />
          <input aria-label=${`Header ${i + 1} value`} placeholder="value" value=${header.value}
            onInput=${(e) => setHeader(i, { value: e.target.value })} />
          <button type="button" aria-label=${`Remove header ${i + 1}`}
            onClick=${() => set({ headers: settings.headers.filter((_, j) => j !== i) })}>Remove</button>
        </div>`,
      )}
      <button type="button" onClick=${() => set({ headers: [...settings.headers, { name: '', value: '' }] })}>Add header</button>
    </fieldset>
    <fieldset><legend>Authentication <span class="hint">(how hookflow proves itself to your server)</span></legend>
      <div class="field"><label for="ep-auth">Method</label>
        <select id="ep-auth" value=${settings.authType}
          onChange=${(e) => set({ authType: e.target.value, auth: e.target.value === saved?.type ? settingsOf(endpoint).auth : {} })}>
          ${Object.entries(AUTH_TYPES).map(([type, { label }]) => html`<option value=${type}>${label}</option>`)}
        </select></div>
      ${
        saved && settings.authType === saved.type
          ? html`<p class="hint">Saved credentials are never shown. Leave these as they are to keep them, or enter them all anew.</p>`
          : null
      }
      ${AUTH_TYPES[settings.authType].inputs.map(
        ({ key, label, secret, type, optional }) => html`<div class="field" key=${key}>
          <label for=${`ep-auth-${key}`}>${label}${optional ? html` <span class="hint">(optional)</span>` : null}</label>
          <input id=${`ep-auth-${key}`} type=${secret ? 'password' : (type ?? 'text')} autocomplete="off"
            required=${replacing && !optional} value=${settings.auth[key] ?? ''}
            onInput=${(e) => set({ auth: { ...settings.auth, [key]: e.target.value } })} /></div>`,
      )}
    </fieldset>
    <div class="checks"><label><input type="checkbox" checked=${settings.traceContext}
      onChange=${(e) => set({ traceContext: e.target.checked })} /><span>Send trace context (a W3C <code>traceparent</code> header) with each request</span></label></div>
  </details>`;
}

function EndpointForm({ endpoint, eventType, onSaved }) {
  const known = useKnownTypes();
  const [url, setUrl] = useState(endpoint?.url ?? '');
  const [description, setDescription] = useState(endpoint?.description ?? '');
  const [types, setTypes] = useState(endpoint?.event_types ?? (eventType ? [eventType] : []));
  const [other, setOther] = useState('');
  const [signing, setSigning] = useState('hmac');
  const [settings, setSettings] = useState(() => settingsOf(endpoint));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const choices = [...new Set([...(known.data ?? []), ...types])];
  const toggle = (type) =>
    setTypes(types.includes(type) ? types.filter((t) => t !== type) : [...types, type]);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        url,
        description,
        event_types: [...new Set([...types, ...commaList(other)])],
        ...settingsBody(settings, endpoint),
      };
      // The scheme is chosen once; rotating the key keeps it.
      if (!endpoint) body.signing = signing;
      const saved = endpoint
        ? await api('PATCH', `/v1/endpoints/${endpoint.id}`, body)
        : await api('POST', '/v1/endpoints', body);
      onSaved(saved);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card" onSubmit=${submit} aria-busy=${busy}>
    <${Alert} message=${error} />
    <div class="field"><label for="ep-url">URL</label>
      <input id="ep-url" type="url" required placeholder="https://example.com/webhooks" value=${url}
        onInput=${(e) => setUrl(e.target.value)} /></div>
    <div class="field"><label for="ep-description">Description <span class="hint">(optional)</span></label>
      <input id="ep-description" value=${description} onInput=${(e) => setDescription(e.target.value)} /></div>
    <fieldset><legend>Event types <span class="hint">(none selected: every type)</span></legend>
      ${choices.length === 0 ? html`<p class="hint">No event has reached you yet: name types below, or leave them all.</p>` : null}
      <div class="checks">
        ${choices.map(
          (type) => html`<label key=${type}><input type="checkbox" checked=${types.includes(type)}
            onChange=${() => toggle(type)} />${type}</label>`,
        )}
      </div></fieldset>
    <div class="field"><label for="ep-other">Other event types <span class="hint">(comma separated)</span></label>
      <input id="ep-other" value=${other} onInput=${(e) => setOther(e.target.value)} /></div>
    ${
      endpoint
        ? null
        : html`<fieldset><legend>Signatures</legend>
      <div class="choices">
        <label><input type="radio" name="signing" value="hmac" checked=${signing === 'hmac'}
          onChange=${() => setSigning('hmac')} /><span>HMAC-SHA256 <span class="hint">with a secret you keep (most libraries)</span></span></label>
        <label><input type="radio" name="signing" value="ed25519" checked=${signing === 'ed25519'}
          onChange=${() => setSigning('ed25519')} /><span>ed25519 <span class="hint">verified with a public key, nothing secret to keep</span></span></label>
      </div></fieldset>`
    }
    <${DeliverySettings} endpoint=${endpoint} settings=${settings} onChange=${setSettings} />
    <button class="primary" type="submit" disabled=${busy}>${busy ? 'Saving…' : endpoint ? 'Save changes' : 'Add endpoint'}</button>
  </form>`;
}

function NewEndpointPage({ eventType }) {
  const [created, setCreated] = useState(null);
  if (useReadOnly()) return html`<h1>Add an endpoint</h1><${Alert} message=${VIEW_ONLY} />`;
  if (created?.signing === 'ed25519') {
    return html`<h1>Endpoint added</h1>
      <div class="notice" role="status">Verify requests with this public key: it is not a secret, and the endpoint's page shows it too.</div>
      <div class="card"><dl class="facts"><dt>URL</dt><dd>${created.url}</dd>
        <dt>Public key</dt><dd><code class="secret key" data-testid="public-key">${created.public_key}</code></dd></dl></div>
      <a class="button primary" href=${`#/endpoints/${created.id}`}>Open the endpoint</a>`;
  }
  if (created) {
    return html`<h1>Endpoint added</h1>
      <div class="notice" role="status">Copy the signing secret now: it is shown only once.</div>
      <div class="card"><dl class="facts"><dt>URL</dt><dd>${created.url}</dd>
        <dt>Signing secret</dt><dd><code class="secret" data-testid="secret">${created.secret}</code></dd></dl></div>
      <a class="button primary" href=${`#/endpoints/${created.id}`}>Open the endpoint</a>`;
  }
  return html`<h1>Add an endpoint</h1><${EndpointForm} eventType=${eventType} onSaved=${setCreated} />`;
}

const RECOVER_SINCE = [
  ['1', 'the last hour'],
  ['24', 'the last 24 hours'],
  ['168', 'the last 7 days'],
  ['720', 'the last 30 days'],
];

/** Replays the endpoint's failed deliveries of a recent stretch (an operation), and follows it to its end. */
function Recover({ endpoint }) {
  const [hours, setHours] = useState('24');
  const [op, setOp] = useState(null);
  const [error, setError] = useState(null);
  const running = op?.status === 'running';
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(
      () => api('GET', `/v1/operations/${op.id}`).then(setOp, (err) => setError(err.message)),
      2000,
    );
    return () => clearInterval(timer);
  }, [running, op?.id]);
  const start = () => {
    const since = new Date(Date.now() - Number(hours) * 3_600_000).toISOString();
    return api('POST', `/v1/endpoints/${endpoint.id}/recover`, { since });
  };
  const progress = !op
    ? null
    : running
      ? `Recovering: ${op.done} of ${op.total} looked at, ${op.replayed} sent again.`
      : op.status === 'completed'
        ? `Done: ${op.replayed === 1 ? '1 failed delivery' : `${op.replayed} failed deliveries`} sent again${op.skipped ? `, ${op.skipped} skipped` : ''}${op.failed ? `, ${op.failed} could not be` : ''}.`
        : `The recovery ${op.status === 'cancelled' ? 'was cancelled' : 'failed'} after ${op.replayed} sent again.`;
  return html`<div class="card">
    <h2 class="inline">Recover failed deliveries</h2>
    <p class="hint">Sends once more every delivery to this endpoint, made in the time chosen, that failed for good.</p>
    <div class="row">
      <label for="recover-since" class="inline">Made in</label>
      <select id="recover-since" value=${hours} onChange=${(e) => setHours(e.target.value)} style="width:auto">
        ${RECOVER_SINCE.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select>
      <${Action} label="Recover" run=${start} onDone=${(started, err) => {
        setError(err);
        if (started) setOp(started);
      }} />
    </div>
    ${progress ? html`<p role="status" data-testid="recovery">${progress}</p>` : null}
    <${Alert} message=${error} />
  </div>`;
}

function EndpointPage({ id }) {
  const readOnly = useReadOnly();
  const endpoint = useLoad(() => api('GET', `/v1/endpoints/${id}`), [id]);
  const week = useLoad(() => weekOf(id), [id]);
  const [message, setMessage] = useState({ error: null, notice: null, secret: null });
  const [editing, setEditing] = useState(false);
  const done = (notice) => (result, error) => {
    setMessage({ error, notice: error ? null : notice, secret: result?.secret ?? null });
    if (!error) endpoint.reload();
  };
  if (endpoint.loading && !endpoint.data) return html`<${Spinner} />`;
  if (endpoint.error) return html`<${Alert} message=${endpoint.error} />`;
  const ep = endpoint.data;
  if (editing) {
    return html`<h1>Edit endpoint</h1><${EndpointForm} endpoint=${ep} onSaved=${() => {
      setEditing(false);
      endpoint.reload();
    }} />`;
  }
  return html`
    <div class="row spread"><h1>Endpoint</h1><a href="#/endpoints">All endpoints</a></div>
    <${Alert} message=${message.error} />
    ${message.notice ? html`<div class="notice" role="status">${message.notice}</div>` : null}
    ${
      message.secret
        ? html`<div class="card"><strong>New signing secret (shown once):</strong>
      <code class="secret" data-testid="secret">${message.secret}</code></div>`
        : null
    }
    <div class="card"><dl class="facts">
      <dt>URL</dt><dd>${ep.url}</dd>
      <dt>Status</dt><dd><${Badge} value=${ep.status} />${ep.disabled_reason ? ` — ${ep.disabled_reason}` : ''}</dd>
      <dt>Description</dt><dd>${ep.description || '—'}</dd>
      <dt>Health</dt><dd><${Health} circuit=${ep.circuit} /></dd>
      <dt>Last 7 days</dt><dd>${
        week.data
          ? `${week.data.succeeded} delivered, ${week.data.failed} failed (${week.data.rate}); ${week.data.attempts === 1 ? '1 attempt' : `${week.data.attempts} attempts`}${week.data.p95 === null ? '' : `, 95 % answered within ${Math.round(week.data.p95)}\u00a0ms`}`
          : '…'
      }</dd>
      <dt>Event types</dt><dd>${ep.event_types.length ? ep.event_types.join(', ') : 'All'}</dd>
      <dt>Channels</dt><dd>${ep.channels.length ? ep.channels.join(', ') : 'Any'}</dd>
      <dt>Payload filter</dt><dd>${ep.filter ? html`<code>${JSON.stringify(ep.filter)}</code>` : 'None'}</dd>
      <dt>Rate limit</dt><dd>${ep.rate_limit_per_s == null ? 'None' : `At most ${ep.rate_limit_per_s} requests a second`}</dd>
      <dt>Custom headers</dt><dd>${Object.keys(ep.headers ?? {}).join(', ') || 'None'}</dd>
      <dt>Authentication</dt><dd>${authInWords(ep.auth)}</dd>
      <dt>Trace context</dt><dd>${ep.forward_trace_context ? 'Sent with each request' : 'Not sent'}</dd>
      <dt>Signing</dt><dd>${
        ep.signing === 'ed25519'
          ? html`ed25519: verify with this public key
            <code class="secret key" data-testid="public-key">${ep.public_key}</code>`
          : 'HMAC-SHA256 with the signing secret'
      }</dd>
      <dt>Created</dt><dd>${when(ep.created_at)}</dd>
    </dl></div>
    ${
      readOnly
        ? html`<div class="row"><a class="button" href=${`#/deliveries?endpoint_id=${ep.id}`}>Deliveries</a></div>`
        : html`<div class="row">
      <${Action} label="Send test event" kind="primary" run=${() => api('POST', `/v1/endpoints/${ep.id}/test`, {})}
        onDone=${done('Test event sent. Follow it under Deliveries.')} />
      <button type="button" onClick=${() => setEditing(true)}>Edit</button>
      ${
        ep.status === 'active'
          ? html`<${Action} label="Pause" run=${() => api('PATCH', `/v1/endpoints/${ep.id}`, { status: 'paused' })} onDone=${done('Paused: new events are not sent to it.')} />`
          : html`<${Action} label="Resume" run=${() => api('PATCH', `/v1/endpoints/${ep.id}`, { status: 'active' })} onDone=${done('Resumed.')} />`
      }
      ${
        ep.signing === 'ed25519'
          ? html`<${Action} label="Rotate key" run=${() => api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, {})}
              onDone=${done('Key rotated: verify with the new public key. The old key keeps signing for 24 hours.')} />`
          : html`<${Action} label="Rotate secret" run=${() => api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, {})}
              onDone=${done('Secret rotated. The old one keeps signing for 24 hours.')} />`
      }
      <a class="button" href=${`#/deliveries?endpoint_id=${ep.id}`}>Deliveries</a>
      <${Action} label="Delete" kind="danger" confirm="Delete this endpoint? Its pending deliveries stop."
        run=${() => api('DELETE', `/v1/endpoints/${ep.id}`)}
        onDone=${(_, error) => {
          if (error) setMessage({ error });
          else location.hash = '#/endpoints';
        }} />
    </div>
    <${Recover} endpoint=${ep} />`
    }`;
}

// --- deliveries ---------------------------------------------------------------------------------------

/** Deliveries as rows, each opening its page; `urlOf` gives endpoints' current URLs where known. */
function DeliveryTable({ rows, urlOf = new Map(), withType = false }) {
  return html`<table class="stack"><thead><tr><th scope="col">Status</th>
      ${withType ? html`<th scope="col">Event type</th>` : null}
      <th scope="col">Endpoint</th><th scope="col">Attempts</th><th scope="col">Created</th></tr></thead>
    <tbody>${rows.map(
      (d) => html`<tr key=${d.id}>
        <td data-label="Status"><a href=${`#/deliveries/${d.id}`} aria-label=${`Delivery ${d.id}, ${d.status}`}><${Badge} value=${d.status} /></a></td>
        ${withType ? html`<td data-label="Event type">${d.event_type}</td>` : null}
        <td class="url" data-label="Endpoint">${urlOf.get(d.endpoint_id) ?? d.url}</td>
        <td data-label="Attempts">${d.attempts}</td>
        <td data-label="Created">${when(d.created_at)}</td></tr>`,
    )}</tbody></table>`;
}

function DeliveriesPage({ query }) {
  const [filters, setFilters] = useState({
    status: query.get('status') ?? '',
    event_type: query.get('event_type') ?? '',
    endpoint_id: query.get('endpoint_id') ?? '',
    since: '',
  });
  const [pages, setPages] = useState([]);
  const [cursor, setCursor] = useState(null);
  const endpoints = useLoad(() => api('GET', '/v1/endpoints?limit=250'), []);
  const search = new URLSearchParams({ limit: '25' });
  for (const [key, value] of Object.entries(filters)) {
    if (value) search.set(key, key === 'since' ? new Date(value).toISOString() : value);
  }
  const first = useLoad(async () => {
    const page = await api('GET', `/v1/deliveries?${search}`);
    setPages([page.data]);
    setCursor(page.next_cursor);
    return page;
  }, [search.toString()]);
  const [more, setMore] = useState({ loading: false, error: null });
  const loadMore = async () => {
    setMore({ loading: true, error: null });
    try {
      const page = await api('GET', `/v1/deliveries?${search}&cursor=${cursor}`);
      setPages([...pages, page.data]);
      setCursor(page.next_cursor);
      setMore({ loading: false, error: null });
    } catch (err) {
      setMore({ loading: false, error: err.message });
    }
  };
  const set = (key) => (e) => setFilters({ ...filters, [key]: e.target.value });
  const urlOf = new Map((endpoints.data?.data ?? []).map((ep) => [ep.id, ep.url]));
  const rows = pages.flat();
  return html`
    <div class="row spread"><h1>Deliveries</h1>
      <button type="button" onClick=${first.reload}>Refresh</button></div>
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Filter deliveries">
      <div><label for="f-status">Status</label>
        <select id="f-status" value=${filters.status} onChange=${set('status')}>
          <option value="">Any</option>
          ${['scheduled', 'pending', 'in_progress', 'retrying', 'succeeded', 'failed', 'cancelled'].map(
            (s) => html`<option value=${s}>${s.replace('_', ' ')}</option>`,
          )}
        </select></div>
      <div><label for="f-type">Event type</label>
        <input id="f-type" value=${filters.event_type} onChange=${set('event_type')} /></div>
      <div><label for="f-endpoint">Endpoint</label>
        <select id="f-endpoint" value=${filters.endpoint_id} onChange=${set('endpoint_id')}>
          <option value="">Any</option>
          ${(endpoints.data?.data ?? []).map((ep) => html`<option value=${ep.id}>${ep.url}</option>`)}
        </select></div>
      <div><label for="f-since">Since</label>
        <input id="f-since" type="date" value=${filters.since} onChange=${set('since')} /></div>
    </form>
    <${Alert} message=${first.error} />
    ${first.loading ? html`<${Spinner} />` : null}
    ${!first.loading && rows.length === 0 && !first.error ? html`<p class="empty">No deliveries match.</p>` : null}
    ${rows.length ? html`<${DeliveryTable} rows=${rows} urlOf=${urlOf} withType=${true} />` : null}
    <${Alert} message=${more.error} />
    ${cursor ? html`<p><button type="button" onClick=${loadMore} disabled=${more.loading}>${more.loading ? 'Loading…' : 'Load more'}</button></p>` : null}`;
}

function DeliveryPage({ id }) {
  const readOnly = useReadOnly();
  const delivery = useLoad(async () => {
    const [d, attempts, endpoints] = await Promise.all([
      api('GET', `/v1/deliveries/${id}`),
      api('GET', `/v1/deliveries/${id}/attempts?limit=250`),
      api('GET', '/v1/endpoints?limit=250'),
    ]);
    return { d, attempts: attempts.data, endpoints: endpoints.data };
  }, [id]);
  const [message, setMessage] = useState({ error: null, notice: null });
  const [resendTo, setResendTo] = useState('');
  // An open delivery changes by itself: follow it every few seconds until it is final.
  const open = delivery.data && !FINAL.includes(delivery.data.d.status);
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(delivery.reload, 3000);
    return () => clearInterval(timer);
  }, [open, delivery.reload]);
  if (delivery.loading && !delivery.data) return html`<${Spinner} />`;
  if (delivery.error) return html`<${Alert} message=${delivery.error} />`;
  const { d, attempts, endpoints } = delivery.data;
  const done = (notice) => (result, error) => {
    setMessage({ error, notice: error ? null : notice });
    if (!error && result?.id && result.id !== d.id) location.hash = `#/deliveries/${result.id}`;
    else if (!error) delivery.reload();
  };
  const others = endpoints.filter((ep) => ep.status === 'active');
  return html`
    <div class="row spread"><h1>Delivery</h1><a href="#/deliveries">All deliveries</a></div>
    <${Alert} message=${message.error} />
    ${message.notice ? html`<div class="notice" role="status">${message.notice}</div>` : null}
    <div class="card"><dl class="facts">
      <dt>Status</dt><dd><${Badge} value=${d.status} /></dd>
      <dt>Event</dt><dd><a href=${`#/events/${d.event_id}`}>${d.event_type}</a></dd>
      <dt>Endpoint</dt><dd>${d.url}</dd>
      <dt>Attempts</dt><dd>${d.attempts}</dd>
      <dt>Next attempt</dt><dd data-testid="next-attempt">${['retrying', 'scheduled'].includes(d.status) ? when(d.next_attempt_at) : '—'}</dd>
      <dt>Last error</dt><dd>${d.last_error ?? '—'}</dd>
      ${d.replay_of_delivery_id ? html`<dt>Replay of</dt><dd><a href=${`#/deliveries/${d.replay_of_delivery_id}`}>${d.replay_of_delivery_id}</a></dd>` : null}
      <dt>Created</dt><dd>${when(d.created_at)}</dd>
    </dl></div>
    ${
      readOnly
        ? null
        : html`<div class="row">
      ${['retrying', 'scheduled'].includes(d.status) ? html`<${Action} label="Retry now" kind="primary" run=${() => api('POST', `/v1/deliveries/${d.id}/retry`, {})} onDone=${done('Retrying now.')} />` : null}
      ${FINAL.includes(d.status) ? null : html`<${Action} label="Cancel" kind="danger" confirm="Cancel this delivery? No further attempt is made." run=${() => api('POST', `/v1/deliveries/${d.id}/cancel`, {})} onDone=${done('Cancelled.')} />`}
      <${Action} label="Replay" run=${() => api('POST', `/v1/deliveries/${d.id}/replay`, {})} onDone=${done('Replayed as a new delivery.')} />
      <label class="hint" for="resend-to">Resend to</label>
      <select id="resend-to" value=${resendTo} onChange=${(e) => setResendTo(e.target.value)} style="width:auto">
        <option value="">Choose an endpoint</option>
        ${others.map((ep) => html`<option value=${ep.id}>${ep.url}</option>`)}
      </select>
      <${Action} label="Resend" run=${() => {
        if (!resendTo) return Promise.reject(new Problem('Choose an endpoint to resend to.'));
        return api('POST', `/v1/endpoints/${resendTo}/events/${d.event_id}/resend`, {});
      }} onDone=${done('Resent as a new delivery.')} />
    </div>`
    }
    <h2>Attempts</h2>
    ${attempts.length === 0 ? html`<p class="empty">No attempt yet.</p>` : null}
    ${attempts.map(
      (a) => html`<div class="card" key=${a.id}>
        <div class="row"><strong>Attempt ${a.attempt}</strong><${Badge} value=${a.status} />
          <span>${a.status_code ? `HTTP ${a.status_code}` : a.outcome}</span>
          <span class="hint">${a.duration_ms} ms · ${when(a.started_at)}</span></div>
        ${a.error ? html`<p>${a.error}</p>` : null}
        ${a.response ? html`<pre aria-label=${`Response to attempt ${a.attempt}`}>${a.response}</pre>` : null}
      </div>`,
    )}`;
}

function EventPage({ id }) {
  const readOnly = useReadOnly();
  const event = useLoad(async () => {
    const [e, deliveries] = await Promise.all([
      api('GET', `/v1/events/${id}`),
      api('GET', `/v1/deliveries?event_id=${id}&limit=250`),
    ]);
    return { e, deliveries: deliveries.data };
  }, [id]);
  const [message, setMessage] = useState({ error: null, notice: null });
  // Deliveries under way change by themselves: follow them until each is final.
  const open = event.data?.deliveries.some((d) => !FINAL.includes(d.status));
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(event.reload, 3000);
    return () => clearInterval(timer);
  }, [open, event.reload]);
  if (event.loading && !event.data) return html`<${Spinner} />`;
  if (event.error) return html`<${Alert} message=${event.error} />`;
  const { e, deliveries } = event.data;
  const headers = Object.entries(e.headers);
  const replayed = (result, error) => {
    const made = result?.deliveries_total ?? 0;
    setMessage({
      error,
      notice: error ? null : made === 1 ? 'Sent again to 1 endpoint.' : `Sent again to ${made} endpoints.`,
    });
    if (!error) event.reload();
  };
  return html`<h1>Event</h1>
    <div class="card"><dl class="facts"><dt>Type</dt><dd>${e.event_type}</dd><dt>Id</dt><dd>${e.id}</dd>
      <dt>Created</dt><dd>${when(e.created_at)}</dd></dl></div>
    <h2>Headers</h2>
    ${headers.length ? html`<div class="card"><dl class="facts">${headers.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl></div>` : html`<p class="empty">No custom headers.</p>`}
    <h2>Payload</h2><pre aria-label="Payload">${JSON.stringify(e.payload, null, 2)}</pre>
    <div class="row spread"><h2>Its deliveries</h2>${
      readOnly
        ? null
        : html`<${Action} label="Send again to my endpoints" run=${() => api('POST', `/v1/events/${e.id}/replay`, {})}
            onDone=${replayed} />`
    }</div>
    <${Alert} message=${message.error} />
    ${message.notice ? html`<div class="notice" role="status">${message.notice}</div>` : null}
    ${
      deliveries.length === 0
        ? html`<p class="empty">None to your endpoints.</p>`
        : html`<${DeliveryTable} rows=${deliveries} />`
    }
    <p><a href=${`#/deliveries`}>All deliveries</a></p>`;
}

// --- event types --------------------------------------------------------------------------------------

const typeHref = (name) => `#/event-types/${encodeURIComponent(name)}`;

/** The project's event-type catalogue: what the consumer can subscribe to, and each payload's shape. */
function EventTypesPage() {
  const types = useLoad(() => everyPage('/v1/event-types'), []);
  if (types.loading && !types.data) return html`<${Spinner} />`;
  if (types.error) return html`<${Alert} message=${types.error} />`;
  const list = types.data;
  return html`<h1>Event types</h1>
    ${
      list.length === 0
        ? html`<p class="empty">No event types are described yet. Events of every type still reach the endpoints that take them.</p>`
        : html`<table class="stack">
        <thead><tr><th scope="col">Event type</th><th scope="col">Description</th><th scope="col">Payload</th></tr></thead>
        <tbody>${list.map(
          (t) => html`<tr key=${t.name}>
            <td data-label="Event type"><a href=${typeHref(t.name)}>${t.name}</a></td>
            <td data-label="Description">${t.description || '—'}</td>
            <td data-label="Payload">${t.schema ? 'Described by a schema' : 'Any JSON'}${t.examples.length ? `, ${t.examples.length === 1 ? 'an example' : `${t.examples.length} examples`}` : ''}</td>
          </tr>`,
        )}</tbody></table>`
    }`;
}

function EventTypePage({ name }) {
  const readOnly = useReadOnly();
  const type = useLoad(() => api('GET', `/v1/event-types/${encodeURIComponent(name)}`), [name]);
  if (type.loading && !type.data) return html`<${Spinner} />`;
  if (type.error) return html`<${Alert} message=${type.error} />`;
  const t = type.data;
  return html`<div class="row spread"><h1>${t.name}</h1><a href="#/event-types">All event types</a></div>
    <div class="card"><dl class="facts"><dt>Description</dt><dd>${t.description || '—'}</dd>
      <dt>Schema version</dt><dd>${t.version}</dd><dt>Updated</dt><dd>${when(t.updated_at)}</dd></dl></div>
    <h2>Payload schema</h2>
    ${t.schema ? html`<pre aria-label="Payload schema">${JSON.stringify(t.schema, null, 2)}</pre>` : html`<p class="empty">Any JSON: this type has no schema.</p>`}
    <h2>Examples</h2>
    ${
      t.examples.length
        ? t.examples.map(
            (example, i) =>
              html`<pre aria-label=${`Example ${i + 1}`}>${JSON.stringify(example, null, 2)}</pre>`,
          )
        : html`<p class="empty">No example yet.</p>`
    }
    ${readOnly ? null : html`<a class="button primary" href=${`#/endpoints/new?event_type=${encodeURIComponent(t.name)}`}>Add an endpoint for it</a>`}`;
}

// --- the app ------------------------------------------------------------------------------------------

const VIEW_ONLY = 'This portal link may only look: ask for another to change anything.';

function App() {
  const { parts, query } = useRoute();
  const session = useLoad(() => (token ? api('GET', '/v1/portal-session') : Promise.resolve(null)), []);
  if (!token) {
    return html`<main><h1>Webhooks</h1><div class="alert" role="alert">
      Open this portal with the link you were given: it carries your access.</div></main>`;
  }
  if (session.loading && !session.data) return html`<main><${Spinner} /></main>`;
  if (session.error) return html`<main><h1>Webhooks</h1><${Alert} message=${session.error} /></main>`;
  const [section, id] = parts;
  let page;
  if (section === 'deliveries' && id) page = html`<${DeliveryPage} id=${id} />`;
  else if (section === 'deliveries') page = html`<${DeliveriesPage} query=${query} />`;
  else if (section === 'events' && id) page = html`<${EventPage} id=${id} />`;
  else if (section === 'endpoints' && id === 'new')
    page = html`<${NewEndpointPage} eventType=${query.get('event_type') ?? undefined} />`;
  else if (section === 'event-types' && id) page = html`<${EventTypePage} name=${decodeURIComponent(id)} />`;
  else if (section === 'event-types') page = html`<${EventTypesPage} />`;
  else if (section === 'endpoints' && id) page = html`<${EndpointPage} id=${id} />`;
  else page = html`<${EndpointsPage} />`;
  const tab = (name, label) =>
    html`<a href=${`#/${name}`} aria-current=${(section ?? 'endpoints') === name ? 'page' : undefined}>${label}</a>`;
  const s = session.data;
  return html`<${Session.Provider} value=${s}><header class="top"><div class="bar"><span class="brand">Webhooks</span>
      <nav class="tabs" aria-label="Sections">${tab('endpoints', 'Endpoints')}${tab('deliveries', 'Deliveries')}${tab('event-types', 'Event types')}</nav>
      <span class="who">${s.consumer_name}${s.read_only ? html` <span class="badge view-only">view only</span>` : null}</span>
    </div></header>
    <main>${s.read_only ? html`<p class="hint" role="note">${VIEW_ONLY}</p>` : null}${page}</main><//>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the page's "Loading…" until this module ran
render(html`<${App} />`, root);

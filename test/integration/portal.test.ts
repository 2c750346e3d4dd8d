// The consumer portal in headless Chromium against the real servers: opened with a session link, a consumer
// adds an endpoint, sends a test event, follows a failing delivery, retries it now and replays it, sets an
// endpoint's delivery settings, reads the event-type catalogue, and never sees another consumer's data. axe-core checks every page; each page is saved as a screenshot.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { EndpointHealth } from '../../src/endpoint-health/model';
import { useStack } from '../helpers/harness';
import { status } from '../helpers/receiver';

const CHROMIUM = '/usr/bin/chromium';
const HOUR = 3_600_000;
/** Screenshots of every page, for a look and for docs/ (test/output is git-ignored). */
const SHOTS = join(__dirname, '..', 'output', 'portal');

describe('consumer portal', () => {
  const h = useStack({ project: 'portal' });
  let browser: Browser;
  let page: Page;
  let globexUrl: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    // axe-core is injected as a script: the page's own policy allows only its files.
    page = await (
      await browser.newContext({ bypassCSP: true, viewport: { width: 1200, height: 800 } })
    ).newPage();
    // Another consumer with an endpoint and a delivery: none of it may ever show.
    await h.api('POST', '/v1/consumers', { name: 'Globex', uid: 'globex' });
    const globex = await h.createEndpoint('/globex-hook', { consumer_id: 'globex' });
    globexUrl = globex.url;
    await h.publish({
      event_type: 't/globex-hook',
      payload: { secret: 'globex-only' },
      consumer_id: 'globex',
    });
    await h.api('POST', '/v1/consumers', { name: 'Acme', uid: 'acme' });
  });
  after(async () => {
    await browser?.close();
  });

  async function seriousViolations(): Promise<string[]> {
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    // A string: this test is compiled without the DOM's types.
    return page.evaluate(`axe.run().then(({ violations }) => violations
      .filter((v) => ['serious', 'critical'].includes(v.impact))
      .map((v) => v.id + ': ' + v.help + ' (' + v.nodes.map((n) => n.target.join(' ')).join(', ') + ')'))`);
  }

  /** Checks the page with axe-core and saves it, at desktop width and, for `phone`, at a phone's. */
  async function look(name: string, phone = false) {
    await page.waitForSelector('.loading', { state: 'detached' }).catch(() => {});
    assert.deepEqual(await seriousViolations(), [], `${name}: accessibility`);
    const text = await page.textContent('body');
    assert.ok(
      !text?.includes(globexUrl) && !text?.includes('globex-only'),
      `${name} shows nothing of globex`,
    );
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    if (phone) {
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate('document.documentElement.scrollWidth > window.innerWidth + 1');
      assert.equal(overflow, false, `${name} fits a phone's width`);
      await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
      await page.setViewportSize({ width: 1200, height: 800 });
    }
  }

  it('walks a consumer through its endpoints and deliveries', async () => {
    const session = await h.api('POST', '/v1/consumers/acme/portal-sessions', {});
    assert.equal(session.status, 201);
    assert.equal(session.body.url, `${h.stack.baseUrl}/portal#token=${session.body.token}`);
    await page.goto(session.body.url);
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    assert.ok(!page.url().includes('token'), 'the token leaves the address bar');
    // And the history: back is the blank tab, forward the portal without the token.
    await page.goBack();
    assert.equal(page.url(), 'about:blank');
    await page.goForward();
    assert.ok(!page.url().includes('token'), 'the history keeps no token');
    await page.getByText('No endpoints yet').waitFor();
    await look('endpoints-empty', true);

    // Add an endpoint; its secret is shown once. The picker offers the project's event-type catalogue.
    h.receiver.script('/acme-hook', status(200, 'thanks'));
    await h.api('POST', '/v1/event-types', { name: 'order.placed', description: 'An order was placed' });
    await page.getByRole('link', { name: 'Add endpoint' }).click();
    await page.getByRole('checkbox', { name: 'order.placed' }).waitFor();
    // What the API refuses is said in words, next to the form.
    await page.getByLabel('URL').fill('ftp://example.com/hook');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('alert').getByText('URL: must be an http or https URL').waitFor();
    await page.getByLabel('URL').fill(h.receiver.url('/acme-hook'));
    await page.getByLabel('Description').fill('Order updates');
    await look('endpoint-new');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await page.getByTestId('secret').textContent()) ?? '';
    assert.match(secret, /^whsec_/);
    await look('endpoint-created');
    await page.getByRole('link', { name: 'Open the endpoint' }).click();
    await page.getByRole('button', { name: 'Send test event' }).waitFor();

    // A test event: signed with that secret, delivered, with its attempt.
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByText('Test event sent').waitFor();
    const [request] = await h.receiver.waitFor('/acme-hook', 1);
    assert.ok(h.verifies(secret, request));
    await look('endpoint', true);
    await page.getByRole('link', { name: 'Deliveries' }).first().click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page
      .getByRole('link', { name: /succeeded/ })
      .first()
      .click();
    await page.getByText('Attempt 1').waitFor();
    await page.getByText('HTTP 200').waitFor();
    await look('delivery', true);

    // The receiver fails: the delivery waits an hour to retry; "Retry now" delivers it at once.
    const [endpoint] = (await h.api('GET', '/v1/endpoints?consumer_id=acme')).body.data;
    await h.api('PATCH', `/v1/endpoints/${endpoint.id}`, {
      retry: { initial_interval_ms: HOUR, backoff_coefficient: 1, max_interval_ms: HOUR },
    });
    h.receiver.script('/acme-hook', status(503, 'down for maintenance'), status(200, 'back'));
    const sent = await h.api('POST', `/v1/endpoints/${endpoint.id}/test`, {});
    const failing = sent.body.deliveries[0].id;
    await h.waitForStatus(failing, 'retrying');
    await page.goto(`${h.stack.baseUrl}/portal#/deliveries/${failing}`);
    await page.getByText('down for maintenance').waitFor();
    const next = (await page.getByTestId('next-attempt').textContent()) ?? '';
    assert.notEqual(next.trim(), '—', 'the next attempt time shows');
    await look('delivery-retrying');
    await page.getByRole('button', { name: 'Retry now' }).click();
    await page.getByText('Attempt 2').waitFor();
    assert.equal((await h.delivery(failing)).status, 'succeeded');

    // Replay: a new delivery of the same event, opened at once.
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByText('Replayed as a new delivery').waitFor();
    await page.getByText('Replay of').waitFor();
    await page
      .getByRole('link', { name: 't/acme-hook' })
      .or(page.getByRole('link', { name: 'hookflow.test' }))
      .first()
      .click();
    await page.getByRole('heading', { name: 'Payload' }).waitFor();
    // The event's deliveries to this consumer (the failing one and its replay), and sending it again.
    const bodyRows = () => page.locator('table tbody tr').count();
    await page
      .getByRole('link', { name: /^Delivery .*, succeeded$/ })
      .first()
      .waitFor();
    const before = await bodyRows();
    assert.ok(before >= 2, `${before} deliveries listed`);
    await page.getByRole('button', { name: 'Send again to my endpoints' }).click();
    const notice = (await page.getByText(/^Sent again to \d+ endpoints?\.$/).textContent()) ?? '';
    const sentTo = Number(/\d+/.exec(notice)?.[0]);
    assert.ok(sentTo >= 1, notice);
    await page.waitForFunction(`document.querySelectorAll('table tbody tr').length === ${before + sentTo}`);
    // Followed until delivered, without a reload.
    await page.waitForFunction(
      `[...document.querySelectorAll('table tbody .badge')].every((b) => b.textContent === 'succeeded')`,
    );
    await look('event', true);

    // The lists: only Acme's, never Globex's.
    await page.goto(`${h.stack.baseUrl}/portal#/deliveries`);
    await page
      .getByRole('link', { name: /succeeded/ })
      .first()
      .waitFor();
    await look('deliveries', true);
    await page.goto(`${h.stack.baseUrl}/portal#/endpoints`);
    await page.getByRole('link', { name: h.receiver.url('/acme-hook') }).waitFor();
    // Its health and its last 7 days, from the statistics: the three deliveries made, all delivered.
    const row = page.getByRole('row', { name: new RegExp(h.receiver.url('/acme-hook')) });
    await row.getByText('100 %').waitFor();
    await row.getByText('healthy').waitFor();
    await look('endpoints', true);

    // An open circuit breaker, said in words on the endpoint's page.
    const now = Date.now();
    await EndpointHealth.collection.insertOne({
      _id: endpoint.id,
      project_id: h.projectId,
      state: 'open',
      since: new Date(now),
      opened_at: new Date(now - 3_600_000),
      last_probe_at: null,
      last_probe_ok: null,
      next_probe_at: new Date(now + 60_000),
      probe_delivery_id: null,
    } as never);
    await page.goto(`${h.stack.baseUrl}/portal#/endpoints/${endpoint.id}`);
    await page.getByText(/Failing since .*: new deliveries wait and none is lost/).waitFor();
    await page.getByText(/\d+ delivered, 0 failed \(100\s%\)/).waitFor();
    await look('endpoint-failing', true);
    await EndpointHealth.collection.deleteOne({ _id: endpoint.id } as never);

    // An endpoint signed with ed25519, chosen in the form: its public key, to verify with, and no secret.
    h.receiver.script('/acme-ed25519', status(200));
    await page.goto(`${h.stack.baseUrl}/portal#/endpoints/new`);
    await page.getByLabel('URL').fill(h.receiver.url('/acme-ed25519'));
    // The picker offers the types delivered to this consumer (the test events above) besides the catalogue's.
    await page.getByRole('checkbox', { name: 'hookflow.test' }).waitFor();
    await page.getByRole('radio', { name: /ed25519/ }).check();
    await look('endpoint-new-ed25519', true);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const publicKey = (await page.getByTestId('public-key').textContent()) ?? '';
    assert.match(publicKey, /^whpk_/);
    assert.equal(await page.getByTestId('secret').count(), 0);
    await look('endpoint-created-ed25519');
    const signed = (await h.api('GET', '/v1/endpoints?consumer_id=acme')).body.data.find(
      (e: { public_key: string | null }) => e.public_key === publicKey,
    );
    assert.equal(signed.signing, 'ed25519');
    await page.getByRole('link', { name: 'Open the endpoint' }).click();
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByText('Test event sent').waitFor();
    const [signedRequest] = await h.receiver.waitFor('/acme-ed25519', 1);
    assert.ok(h.verifiesPublicKey(publicKey, signedRequest), 'signed with the key the page showed');
    assert.equal(await page.getByTestId('public-key').textContent(), publicKey);
    await look('endpoint-ed25519', true);
    // Rotating shows the new public key; no private key ever reaches the page.
    await page.getByRole('button', { name: 'Rotate key' }).click();
    await page.getByText('Key rotated: verify with the new public key.').waitFor();
    // A string: this test is compiled without the DOM's types.
    await page.waitForFunction(
      `document.querySelector('[data-testid="public-key"]')?.textContent !== ${JSON.stringify(signed.public_key)}`,
    );
    assert.doesNotMatch((await page.textContent('body')) ?? '', /whsk_/);
    await look('endpoint-ed25519-rotated');
  });

  it("sets an endpoint's delivery settings: channels, headers, a rate limit, authentication, trace context", async () => {
    const session = await h.api('POST', '/v1/consumers/acme/portal-sessions', {});
    await page.goto(session.body.url);
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    await page.goto(`${h.stack.baseUrl}/portal#/endpoints/new`);
    await page.getByLabel('URL').fill(h.receiver.url('/acme-settings'));
    await page.getByText('Delivery settings').click();
    await page.getByLabel(/^Channels/).fill('eu, billing');
    await page.getByLabel(/^Rate limit/).fill('5');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header 1 name').fill('X-Tenant');
    await page.getByLabel('Header 1 value').fill('acme');
    await page.getByLabel('Method').selectOption('basic');
    await page.getByLabel('Username').fill('hook:flow');
    await page.getByLabel('Password').fill('pa55word');
    await page.getByLabel(/Send trace context/).check();
    await look('endpoint-new-settings', true);
    // The API's refusal, in words naming the field inside the authentication.
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page
      .getByRole('alert')
      .getByText('Authentication username: a basic-auth username cannot contain ":"')
      .waitFor();
    await page.getByLabel('Username').fill('hookflow');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await page.getByTestId('secret').textContent()) ?? '';
    await page.getByRole('link', { name: 'Open the endpoint' }).click();
    await page.getByText('At most 5 requests a second').waitFor();
    for (const fact of ['eu, billing', 'X-Tenant', 'Basic (username and password)', 'Sent with each request'])
      await page.getByText(fact, { exact: true }).waitFor();
    assert.doesNotMatch((await page.textContent('body')) ?? '', /pa55word/, 'the password is never shown');
    await look('endpoint-settings', true);
    const [stored] = (await h.api('GET', '/v1/endpoints?consumer_id=acme')).body.data.filter(
      (e: { url: string }) => e.url === h.receiver.url('/acme-settings'),
    );
    assert.deepEqual(
      [stored.channels, stored.headers, stored.rate_limit_per_s, stored.auth, stored.forward_trace_context],
      [['eu', 'billing'], { 'X-Tenant': 'acme' }, 5, { type: 'basic' }, true],
    );

    // Each request carries what was set.
    const sendTest = async (count: number) => {
      await page.getByRole('button', { name: 'Send test event' }).click();
      await page.getByText('Test event sent').waitFor();
      return (await h.receiver.waitFor('/acme-settings', count))[count - 1];
    };
    const first = await sendTest(1);
    assert.ok(h.verifies(secret, first));
    assert.equal(first.headers['x-tenant'], 'acme');
    assert.equal(first.headers.authorization, `Basic ${Buffer.from('hookflow:pa55word').toString('base64')}`);
    assert.match(String(first.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    // Editing other fields keeps the saved credentials, which the form never shows.
    await page.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await page.getByLabel('Password').inputValue(), '');
    await page.getByText('Saved credentials are never shown').waitFor();
    await page.getByLabel('Header 1 value').fill('acme-eu');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const second = await sendTest(2);
    assert.equal(second.headers['x-tenant'], 'acme-eu');
    assert.equal(second.headers.authorization, first.headers.authorization);

    // A bearer token replaces them; the rest is taken away.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Method').selectOption('bearer');
    await page.getByLabel('Token').fill('tok-123');
    await page.getByRole('button', { name: 'Remove header 1' }).click();
    await page.getByLabel(/^Rate limit/).fill('');
    await page.getByLabel(/^Channels/).fill('');
    await page.getByLabel(/Send trace context/).uncheck();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Bearer token', { exact: true }).waitFor();
    const third = await sendTest(3);
    assert.equal(third.headers.authorization, 'Bearer tok-123');
    assert.equal(third.headers['x-tenant'], undefined);
    assert.equal(third.headers.traceparent, undefined);
    const bearer = (await h.api('GET', `/v1/endpoints/${stored.id}`)).body;
    assert.deepEqual(
      [bearer.channels, bearer.headers, bearer.rate_limit_per_s, bearer.auth, bearer.forward_trace_context],
      [[], {}, null, { type: 'bearer' }, false],
    );

    // "None" removes the authentication.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Method').selectOption('none');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('button', { name: 'Send test event' }).waitFor();
    assert.equal((await h.api('GET', `/v1/endpoints/${stored.id}`)).body.auth, null);
    assert.equal((await sendTest(4)).headers.authorization, undefined);

    // A payload filter, tried on sample events before it is saved, then applied at publish.
    await page.getByRole('button', { name: 'Edit' }).click();
    // Folded away again: nothing is set.
    await page.getByText('Delivery settings').click();
    const filter = page.getByLabel(/^Payload filter/);
    const trySample = async (payload: string, answer: string) => {
      await page.getByLabel('Sample payload').fill(payload);
      await page.getByRole('button', { name: 'Try the filter' }).click();
      await page.getByRole('status').getByText(answer).waitFor();
    };
    await filter.fill('{"payload.amount": {"$where": "1"}}');
    await page.getByRole('button', { name: 'Try the filter' }).click();
    await page
      .getByRole('alert')
      .getByText(/^Payload filter: /)
      .waitFor();
    await filter.fill('{"payload.amount": {"$gte": 100}}');
    await trySample('{"amount": 50}', 'Does not match');
    await trySample('{"amount": 150}', 'Matches');
    await page.getByLabel('Sample payload').fill('{"amount": ');
    await page.getByRole('button', { name: 'Try the filter' }).click();
    await page
      .getByRole('alert')
      .getByText(/^Sample payload: not valid JSON/)
      .waitFor();
    await look('endpoint-filter');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('{"payload.amount":{"$gte":100}}', { exact: true }).waitFor();
    assert.deepEqual((await h.api('GET', `/v1/endpoints/${stored.id}`)).body.filter, {
      'payload.amount': { $gte: 100 },
    });
    const recipients = async (amount: number) =>
      (
        await h.publish({ event_type: 'settings.test', payload: { amount }, consumer_id: 'acme' })
      ).deliveries.map((d: { endpoint_id: string }) => d.endpoint_id);
    assert.ok(!(await recipients(50)).includes(stored.id), 'filtered out');
    assert.ok((await recipients(150)).includes(stored.id), 'let through');
  });

  it('shows the event-type catalogue, and adds an endpoint for a type from it', async () => {
    const name = 'billing/invoice.paid';
    const created = await h.api('POST', '/v1/event-types', {
      name,
      description: 'An invoice was paid',
      schema: { type: 'object', properties: { amount: { type: 'integer' } }, required: ['amount'] },
      examples: [{ amount: 1200 }],
    });
    assert.equal(created.status, 201);
    await h.api('POST', '/v1/event-types', { name: 'legacy.thing', archived: true });
    const session = await h.api('POST', '/v1/consumers/acme/portal-sessions', {});
    await page.goto(session.body.url);
    await page.getByRole('link', { name: 'Event types' }).click();
    const row = page.getByRole('row', { name: new RegExp(name) });
    await row.getByText('Described by a schema, an example').waitFor();
    await page
      .getByRole('row', { name: /order\.placed/ })
      .getByText('Any JSON')
      .waitFor();
    assert.equal(await page.getByText('legacy.thing').count(), 0, 'archived types are not offered');
    await look('event-types', true);

    await row.getByRole('link', { name }).click();
    await page.getByRole('heading', { name }).waitFor();
    assert.match((await page.getByLabel('Payload schema').textContent()) ?? '', /"amount"/);
    assert.match((await page.getByLabel('Example 1').textContent()) ?? '', /1200/);
    await look('event-type', true);

    // The type is ticked in the form it leads to.
    h.receiver.script('/acme-invoices', status(200));
    await page.getByRole('link', { name: 'Add an endpoint for it' }).click();
    assert.equal(await page.getByRole('checkbox', { name }).isChecked(), true);
    await page.getByLabel('URL').fill(h.receiver.url('/acme-invoices'));
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByTestId('secret').waitFor();
    await h.publish({ event_type: name, payload: { amount: 990 }, consumer_id: 'acme' });
    const [request] = await h.receiver.waitFor('/acme-invoices', 1);
    assert.deepEqual(JSON.parse(request.body), { amount: 990 });
  });

  it("recovers an endpoint's failed deliveries and follows the recovery to its end", async () => {
    h.receiver.script('/acme-recover', status(500, 'broken'), status(200));
    const endpoint = await h.createEndpoint('/acme-recover', {
      consumer_id: 'acme',
      retry: { max_attempts: 1 },
    });
    const event = await h.publish({
      event_type: 't/acme-recover',
      payload: { n: 7 },
      endpoint_ids: [endpoint.id],
    });
    await h.waitForStatus(event.deliveries[0].id, 'failed');
    const session = await h.api('POST', '/v1/consumers/acme/portal-sessions', {});
    await page.goto(session.body.url);
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    await page.goto(`${h.stack.baseUrl}/portal#/endpoints/${endpoint.id}`);
    await page.getByLabel('Made in').selectOption({ label: 'the last hour' });
    await page.getByRole('button', { name: 'Recover', exact: true }).click();
    await page.getByTestId('recovery').getByText('Done: 1 failed delivery sent again.').waitFor();
    const [, again] = await h.receiver.waitFor('/acme-recover', 2);
    assert.deepEqual(JSON.parse(again.body), { n: 7 });
    await look('endpoint-recovered', true);
  });

  it('shows a read-only session everything of its consumer, and no action', async () => {
    const session = await h.api('POST', '/v1/consumers/acme/portal-sessions', { read_only: true });
    assert.equal(session.body.read_only, true);
    await page.goto(session.body.url);
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    await page.getByRole('banner').getByText('Acme').waitFor();
    await page.getByRole('banner').getByText('view only').waitFor();
    await page.getByRole('link', { name: h.receiver.url('/acme-hook') }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Add endpoint' }).count(), 0);
    await look('read-only-endpoints', true);

    await page.getByRole('link', { name: h.receiver.url('/acme-hook') }).click();
    await page.getByText('HMAC-SHA256 with the signing secret').waitFor();
    for (const action of ['Send test event', 'Edit', 'Pause', 'Resume', 'Rotate secret', 'Delete'])
      assert.equal(await page.getByRole('button', { name: action }).count(), 0, `no ${action}`);
    await look('read-only-endpoint', true);
    await page.getByRole('link', { name: 'Deliveries', exact: true }).last().click();
    await page
      .getByRole('link', { name: /succeeded/ })
      .first()
      .click();
    await page.getByText('Attempt 1').waitFor();
    for (const action of ['Retry now', 'Cancel', 'Replay', 'Resend'])
      assert.equal(await page.getByRole('button', { name: action }).count(), 0, `no ${action}`);
    await look('read-only-delivery');
    await page.locator('dd a[href^="#/events/"]').click();
    await page.getByRole('heading', { name: 'Its deliveries' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Send again to my endpoints' }).count(), 0);

    // Typed in by hand, the form says why it is not there.
    await page.goto(`${h.stack.baseUrl}/portal#/endpoints/new`);
    await page.getByRole('alert').getByText('This portal link may only look').waitFor();
    assert.equal(await page.getByLabel('URL').count(), 0);
  });

  it('says in words when the link has expired or was revoked', async () => {
    const session = await h.api('POST', '/v1/consumers/acme/portal-sessions', {});
    await h.api('DELETE', '/v1/consumers/acme/portal-sessions');
    await page.goto(session.body.url);
    await page.getByText('This portal link has expired or was revoked').waitFor();
    await look('expired');
  });
});

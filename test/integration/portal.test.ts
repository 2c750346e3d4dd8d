// The consumer portal in headless Chromium against the real servers: opened with a session link, a consumer
// adds an endpoint, sends a test event, follows a failing delivery, retries it now and replays it, and never
// sees another consumer's data. axe-core checks every page; each page is saved as a screenshot.
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
    await look('event');

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
    await page.getByText('3 delivered, 0 failed (100 %)', { exact: false }).waitFor();
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

  it('says in words when the link has expired or was revoked', async () => {
    const session = await h.api('POST', '/v1/consumers/acme/portal-sessions', {});
    await h.api('DELETE', '/v1/consumers/acme/portal-sessions');
    await page.goto(session.body.url);
    await page.getByText('This portal link has expired or was revoked').waitFor();
    await look('expired');
  });
});
